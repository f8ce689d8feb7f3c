/* pdq_stream_avx2.c - pdq_stream.c built with -mavx2 (see its header). */
#define VETO_STREAM_AVX2 1
#include "pdq_stream.c"
