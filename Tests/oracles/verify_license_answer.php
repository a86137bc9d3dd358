<?php
// How a WordPress plugin checks a signed license answer, with PHP's own sodium functions:
// the signature over the exact body, then that the answer is for the nonce it sent and
// still within its lease. Arguments: public key (base64), body file, signature (base64),
// expected nonce, now (unix time). Prints "ok" or the reason it refuses.
[$script, $publicKey, $bodyFile, $signature, $nonce, $now] = $argv;
$body = file_get_contents($bodyFile);
if (!sodium_crypto_sign_verify_detached(base64_decode($signature), $body, base64_decode($publicKey))) {
    echo "bad signature";
    exit(1);
}
$answer = json_decode($body, true);
if ($answer['nonce'] !== $nonce) {
    echo "nonce mismatch";
    exit(1);
}
if (strtotime($answer['valid_until']) < (int)$now) {
    echo "lease expired";
    exit(1);
}
echo "ok " . $answer['status'];
