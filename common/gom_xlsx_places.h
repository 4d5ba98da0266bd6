/*  gom_xlsx_places: where each cell of a read workbook was ("Báo cáo!D14"),
    to name places in the form's check problems. Apart from gom_xlsx so that
    gom-agent, which reads workbooks through its helper gom-agent-xlsx
    (agent/agent_xlsx.c), can use the places without linking the Excel
    libraries. */
#ifndef GOM_XLSX_PLACES_H
#define GOM_XLSX_PLACES_H

#include <czmq.h>

typedef struct _gom_xlsx_places_t gom_xlsx_places_t;

//  An empty set of places.
gom_xlsx_places_t *gom_xlsx_places_new (void);

void gom_xlsx_places_destroy (gom_xlsx_places_t **self_p);

//  The places by cell code (code -> address, strings the map owns): what
//  the reader fills and the helper's answer lists.
zhashx_t *gom_xlsx_places_map (gom_xlsx_places_t *self);

//  The form check's problems (one a line, each naming a cell code first)
//  with each line that names a cell of the workbook prefixed with its
//  address. A new string.
char *gom_xlsx_locate (gom_xlsx_places_t *places, const char *problems);

#endif
