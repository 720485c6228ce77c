/* Replay main for the fuzz harnesses (gcc builds, no libFuzzer): runs every
 * file named on the command line through LLVMFuzzerTestOneInput. */
#include "fuzz.h"

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		FILE *fp = fopen(argv[i], "rb");
		uint8_t *data;
		long size;

		if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
		    fseek(fp, 0, SEEK_SET) != 0) {
			fprintf(stderr, "%s: cannot read\n", argv[i]);
			return 1;
		}
		data = malloc((size_t)size + 1);
		FUZZ_CHECK(data != NULL);
		if (fread(data, 1, (size_t)size, fp) != (size_t)size) {
			fprintf(stderr, "%s: short read\n", argv[i]);
			return 1;
		}
		fclose(fp);
		LLVMFuzzerTestOneInput(data, (size_t)size);
		free(data);
	}
	printf("replayed %d file(s)\n", argc - 1);
	return 0;
}
