/* Test-only: Debian 12's wine64 (8.0) has no bcryptprimitives.dll, which Windows has had
 * since Windows 8 and Go's runtime (1.24+) needs for ProcessPrng, its random source. This
 * DLL gives wine that one export, backed by advapi32's RtlGenRandom (SystemFunction036),
 * so `make test-windows` can run dictum.exe. It is copied into the test's wine prefix only;
 * it is never shipped: real Windows brings its own. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  while (len > 0) {
    ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
    if (!SystemFunction036(data, n)) {
      return FALSE;
    }
    data += n;
    len -= n;
  }
  return TRUE;
}
