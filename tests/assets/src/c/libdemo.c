/* libdemo: a one-function shared library (SONAME libdemo.so.1). */
#include <stdlib.h>
#include "libdemo.h"

const char *demo_greeting(void)
{
	const char *greeting = getenv("DEMO_GREETING");

	return greeting ? greeting : "hello from libdemo";
}
