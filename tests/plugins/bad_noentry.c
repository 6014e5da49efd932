/* Bad-plugin corpus: a shared object without the entry point. */
#include <switchboard/switchboard.h>

SB_VISIBLE int not_the_entry_point(void);
SB_VISIBLE int not_the_entry_point(void)
{
    return 42;
}
