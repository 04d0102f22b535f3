/* Force-included (-include) into the mingw-w64 build of whisper.cpp/ggml by
 * mingw-w64-x86_64.cmake. Debian 12's mingw-w64 (10.0) predates the Windows 10 SDK's
 * THREAD_POWER_THROTTLING_STATE, which ggml-cpu.c uses to keep Windows 11 from parking its
 * worker threads; these are the SDK's definitions (processthreadsapi.h), only for
 * mingw-w64 older than 11, where the enum value ThreadPowerThrottling already exists. */
#ifndef DICTUM_MINGW_COMPAT_H
#define DICTUM_MINGW_COMPAT_H
#include <_mingw.h>
#if defined(__MINGW64_VERSION_MAJOR) && __MINGW64_VERSION_MAJOR < 11
#define THREAD_POWER_THROTTLING_CURRENT_VERSION 1
#define THREAD_POWER_THROTTLING_EXECUTION_SPEED 0x1
#define THREAD_POWER_THROTTLING_VALID_FLAGS (THREAD_POWER_THROTTLING_EXECUTION_SPEED)
typedef struct _THREAD_POWER_THROTTLING_STATE {
  unsigned long Version;
  unsigned long ControlMask;
  unsigned long StateMask;
} THREAD_POWER_THROTTLING_STATE;
#endif
#endif
