/* libFuzzer target: the CSV reader the importer is built on.  Reads every
 * record of the input until the end or an error; a crash, leak or
 * out-of-bounds access is a finding. */
#include <stdint.h>
#include <stdlib.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        pd_csv_t *csv;
        pd_csv_record_t rec;
        char errstr[512];
        if (pd_csv_open_mem("fuzz.csv", (const char *)data, size, &csv,
                            errstr, sizeof(errstr)))
                return 0;
        size_t fields = 0;
        while (!pd_csv_next(csv, &rec, errstr, sizeof(errstr)))
                for (size_t i = 0; i < rec.n; i++)
                        fields += rec.lens[i] + (rec.fields[i][0] != 0);
        pd_csv_close(csv);
        return fields == (size_t)-1; /* keep the loop observable */
}
