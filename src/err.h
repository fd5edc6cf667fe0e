/* persona-dna: error codes shared by every module.
 *
 * Fallible functions return pd_err_t, 0 = OK.  Where a person must read the
 * reason they also fill a caller's `char *errstr, size_t errstr_size`.
 * Foreign codes (librdkafka, LMDB, avro-c) are translated at the module
 * boundary; whether an error is retriable or fatal is decided by one table
 * (pd_err_class()). */
#ifndef PD_ERR_H
#define PD_ERR_H

typedef enum pd_err_e {
        PD_OK = 0,
        PD_ERR_INVALID,   /* bad input or argument: caller's fault */
        PD_ERR_DECODE,    /* bytes are not the expected Avro */
        PD_ERR_NOMEM,     /* allocation failed */
        PD_ERR_IO,        /* file or OS error */
        PD_ERR_CONFIG,    /* configuration or data file is wrong */
        PD_ERR_STORE,     /* LMDB failure */
        PD_ERR_STORE_FULL,/* LMDB map is full */
        PD_ERR_NOT_FOUND, /* lookup found nothing (not a failure) */
        PD_ERR_KAFKA,     /* Kafka error that is retriable */
        PD_ERR_ABORT,     /* transaction must be aborted and the batch retried */
        PD_ERR_FATAL,     /* process must stop (fenced, fatal idempotence) */
        PD_ERR_STOPPED,   /* shutdown requested */
        PD_ERR__CNT
} pd_err_t;

typedef enum pd_err_class_e {
        PD_ERR_CLASS_OK,
        PD_ERR_CLASS_INPUT,     /* dead-letter the input, carry on */
        PD_ERR_CLASS_RETRIABLE, /* abort the batch, rewind and retry */
        PD_ERR_CLASS_FATAL,     /* exit non-zero */
} pd_err_class_t;

/* Returns a static string naming err. */
const char *pd_err_name(pd_err_t err);

/* The one table saying what the main loop does with an error. */
pd_err_class_t pd_err_class(pd_err_t err);

#endif
