// The ceiling: the smallest threaded libfcgi responder, answering a fixed JSON body, for
// comparing PaymentsFCGI's per-request overhead with what FastCGI itself costs.
// Build: cc -O2 -o hello-fcgi hello-fcgi.c -lfcgi -lpthread; run: hello-fcgi SOCKET THREADS
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int listen_socket;

static void *serve(void *unused) {
    (void)unused;
    FCGX_Request request;
    FCGX_InitRequest(&request, listen_socket, 0);
    static const char response[] =
        "Status: 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\n"
        "Content-Length: 15\r\n\r\n{\"status\":\"ok\"}";
    while (FCGX_Accept_r(&request) == 0) {
        FCGX_PutStr(response, sizeof response - 1, request.out);
        FCGX_Finish_r(&request);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: hello-fcgi SOCKET THREADS\n"); return 2; }
    FCGX_Init();
    listen_socket = FCGX_OpenSocket(argv[1], 1024);
    if (listen_socket < 0) { perror("FCGX_OpenSocket"); return 1; }
    chmod(argv[1], 0666);
    // libfcgi turns SIGTERM into a flag its blocked accepts never see: wait for it here instead.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    int threads = atoi(argv[2]);
    pthread_t id;
    for (int i = 0; i < threads && i < 256; i++) pthread_create(&id, NULL, serve, NULL);
    int signal_number;
    sigwait(&stop, &signal_number);
    return 0;
}
