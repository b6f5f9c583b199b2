/* doctor.h: `caplab doctor`: what this machine offers, each missing piece
 * with its fix. */
#ifndef CAPLAB_DOCTOR_H
#define CAPLAB_DOCTOR_H
#include <stdio.h>
/* Returns 0 when caplab can run labs here, 1 otherwise. */
int doctor_main(FILE *out);
#endif
