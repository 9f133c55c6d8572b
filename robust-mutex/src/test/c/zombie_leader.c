/*
 * Leaves a zombie thread-group leader behind: the main thread ends with pthread_exit while a second thread
 * keeps the process alive for the number of seconds given. The leader's TID (the process id) stays taken,
 * and get_robust_list still finds it, until the process ends; its robust list is gone (NULL) once its exit
 * walk has run. Prints the process id first.
 *
 * usage: zombie_leader SECONDS
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *keep_alive(void *seconds)
{
    sleep((unsigned) atoi(seconds));
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t thread;

    if (argc != 2 || pthread_create(&thread, NULL, keep_alive, argv[1]) != 0) {
        fprintf(stderr, "usage: zombie_leader SECONDS\n");
        return 2;
    }
    printf("%d\n", (int) getpid());
    fflush(stdout);
    pthread_exit(NULL);
}
