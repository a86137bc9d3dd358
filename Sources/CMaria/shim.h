// MariaDB Connector/C: the client API and the server and client error numbers.
#include <mariadb/mysql.h>
#include <mariadb/mysqld_error.h>
#include <mariadb/errmsg.h>
