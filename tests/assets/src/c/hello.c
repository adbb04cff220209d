/* hello: the C program behind the ELF and PE fixtures. */
#include <stdio.h>

int main(int argc, char **argv)
{
	char greeting[64];
	const char *name = argc > 1 ? argv[1] : "world";

	snprintf(greeting, sizeof greeting, "hello, %s", name);
	puts(greeting);
	return 0;
}
