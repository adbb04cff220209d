/* usedemo: a program linked against libdemo.so.1, found through DT_RPATH. */
#include <stdio.h>
#include "libdemo.h"

int main(void)
{
	puts(demo_greeting());
	return 0;
}
