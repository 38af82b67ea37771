/*
 * fuzz_check.h — shared by the fuzz targets of test/fuzz: a check that
 * aborts (libFuzzer records the input as a crash) when a property fails.
 */
#ifndef PRIVACY_FUZZ_CHECK_H
#define PRIVACY_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/*
 * A heap buffer of exactly size bytes, so that ASan sees any access past it
 * (size 0: one byte allocated, none to be used).
 */
static inline void *
fuzz_alloc(size_t size)
{
	void	   *p = malloc(size ? size : 1);

	FUZZ_CHECK(p != NULL);
	return p;
}

/* An exact-size heap copy of size bytes of data. */
static inline void *
fuzz_copy(const void *data, size_t size)
{
	void	   *p = fuzz_alloc(size);

	if (size)
		__builtin_memcpy(p, data, size);
	return p;
}

#endif							/* PRIVACY_FUZZ_CHECK_H */
