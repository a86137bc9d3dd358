<?php
// The PHP peers' database connection: persistent (one per PHP-FPM child, as PDO pools them by
// DSN), server-side prepared statements, and PaymentsFCGI's session settings. READ COMMITTED
// matters: under REPEATABLE READ the webhook's FOR UPDATE probes of rows not there yet take gap
// locks and deadlock under load. Both scripts must use this one function: PDO reuses a
// persistent connection by DSN, whatever options a later script passes.
function db(): PDO {
    return new PDO('mysql:unix_socket=' . getenv('PFC_DB_SOCKET') . ';dbname=payments;charset=utf8mb4', 'payments', 'payments', [
        PDO::ATTR_PERSISTENT => true, PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::ATTR_EMULATE_PREPARES => false,
        PDO::MYSQL_ATTR_INIT_COMMAND => "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION', "
            . "tx_isolation = 'READ-COMMITTED'",
    ]);
}
