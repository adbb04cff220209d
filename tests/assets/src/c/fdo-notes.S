/*
 * Extra ELF notes for the hardened hello fixture, assembled by the toolchain:
 *
 *  - a second FDO package-metadata note (.note.package, type 0xcafe1a7e),
 *    next to the one the linker writes for --package-metadata;
 *  - an FDO dlopen note (.note.dlopen, type 0x407c0c0a) listing libraries
 *    the program may load at run time, in the format systemd uses.
 *
 * Each note is: n_namesz, n_descsz, n_type (4 bytes each), the owner name
 * "FDO\0", then the NUL-terminated JSON descriptor padded to 4 bytes.
 */

	.section .note.package,"a",%note
	.balign 4
	.long 2f - 1f			/* n_namesz: "FDO" plus NUL */
	.long 4f - 3f			/* n_descsz: JSON plus NUL */
	.long 0xcafe1a7e		/* n_type: FDO_PACKAGING_METADATA */
1:	.asciz "FDO"
2:	.balign 4
3:	.asciz "{\"type\":\"deb\",\"os\":\"debian\",\"osVersion\":\"12\",\"name\":\"libhello-extra\",\"version\":\"0.9-2\",\"architecture\":\"amd64\"}"
4:	.balign 4

	.section .note.dlopen,"a",%note
	.balign 4
	.long 2f - 1f			/* n_namesz */
	.long 4f - 3f			/* n_descsz */
	.long 0x407c0c0a		/* n_type: FDO_DLOPEN_METADATA */
1:	.asciz "FDO"
2:	.balign 4
3:	.asciz "[{\"feature\":\"compression\",\"description\":\"Support for zstd compressed data\",\"priority\":\"recommended\",\"soname\":[\"libzstd.so.1\"]},{\"feature\":\"compression-lz4\",\"description\":\"Support for LZ4 compressed data\",\"priority\":\"suggested\",\"soname\":[\"liblz4.so.1\"]}]"
4:	.balign 4

	.section .note.GNU-stack,"",%progbits
