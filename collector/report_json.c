/* report_json.c - placeholder */
#include "report.h"
int report_json_placeholder(void);
int report_json_placeholder(void) { return 0; }
