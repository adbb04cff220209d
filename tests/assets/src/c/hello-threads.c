/*
 * hello-threads: says hello from a POSIX thread. On Windows (MinGW-w64) the
 * pthread functions come from winpthreads, imported from libwinpthread-1.dll
 * unless the program is linked with -static.
 */
#include <pthread.h>
#include <stdio.h>

static void *say_hello(void *arg)
{
	puts((const char *)arg);
	return NULL;
}

int main(void)
{
	pthread_t thread;

	if (pthread_create(&thread, NULL, say_hello, "hello from a thread") != 0)
		return 1;
	pthread_join(thread, NULL);
	return 0;
}
