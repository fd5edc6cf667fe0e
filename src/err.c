#include "err.h"

static const struct {
        const char *name;
        pd_err_class_t cls;
} err_table[PD_ERR__CNT] = {
        [PD_OK]             = {"OK", PD_ERR_CLASS_OK},
        [PD_ERR_INVALID]    = {"INVALID", PD_ERR_CLASS_INPUT},
        [PD_ERR_DECODE]     = {"DECODE", PD_ERR_CLASS_INPUT},
        [PD_ERR_NOMEM]      = {"NOMEM", PD_ERR_CLASS_FATAL},
        [PD_ERR_IO]         = {"IO", PD_ERR_CLASS_FATAL},
        [PD_ERR_CONFIG]     = {"CONFIG", PD_ERR_CLASS_FATAL},
        [PD_ERR_STORE]      = {"STORE", PD_ERR_CLASS_FATAL},
        [PD_ERR_STORE_FULL] = {"STORE_FULL", PD_ERR_CLASS_RETRIABLE},
        [PD_ERR_NOT_FOUND]  = {"NOT_FOUND", PD_ERR_CLASS_OK},
        [PD_ERR_KAFKA]      = {"KAFKA", PD_ERR_CLASS_RETRIABLE},
        [PD_ERR_ABORT]      = {"ABORT", PD_ERR_CLASS_RETRIABLE},
        [PD_ERR_FATAL]      = {"FATAL", PD_ERR_CLASS_FATAL},
        [PD_ERR_STOPPED]    = {"STOPPED", PD_ERR_CLASS_OK},
};

const char *pd_err_name(pd_err_t err)
{
        if ((unsigned)err >= PD_ERR__CNT)
                return "UNKNOWN";
        return err_table[err].name;
}

pd_err_class_t pd_err_class(pd_err_t err)
{
        if ((unsigned)err >= PD_ERR__CNT)
                return PD_ERR_CLASS_FATAL;
        return err_table[err].cls;
}
