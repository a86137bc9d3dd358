// libfcgi's reentrant API only. Never fcgi_stdio.h: it redefines FILE and printf.
#include <fcgiapp.h>
