/* tb_api.h - the product API (/api/timebook/...). */
#ifndef TB_API_H
#define TB_API_H

#include <switchboard/switchboard.h>

extern const sb_route tb_routes[];

#endif
