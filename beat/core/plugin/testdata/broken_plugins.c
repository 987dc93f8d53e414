/* Deliberately broken plugins for registry_test, one per -D flag. Plain C:
 * only the ABI header, as a third-party plugin in C would be. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "beat/core/plugin/plugin_abi.h"

#if defined(BROKEN_NO_DESCRIPTOR)
/* A shared object that is not a plugin at all. */
int stem_beat_something_else(void) { return 42; }

#else
static int32_t Open(stem_string_view url, void** store, stem_buffer* error) {
  (void)url;
  (void)error;
  *store = (void*)1;
  return STEM_OK;
}
static void Close(void* store) { (void)store; }
static int32_t Get(void* s, stem_string_view id, stem_buffer* e, stem_buffer* err) {
  (void)s; (void)id; (void)e; (void)err;
  return STEM_NOT_FOUND;
}
static int32_t List(void* s, stem_buffer* e, stem_buffer* err) {
  (void)s; (void)e; (void)err;
  return STEM_OK;
}
static int32_t Upsert(void* s, const uint8_t* d, size_t n, stem_buffer* o, stem_buffer* err) {
  (void)s; (void)d; (void)n; (void)o; (void)err;
  return STEM_OK;
}
static int32_t Remove(void* s, stem_string_view id, int64_t v, stem_buffer* err) {
  (void)s; (void)id; (void)v; (void)err;
  return STEM_OK;
}
__attribute__((unused)) static int32_t Due(void* s, int64_t now, int32_t limit,
                                           stem_buffer* e, stem_buffer* err) {
  (void)s; (void)now; (void)limit; (void)e; (void)err;
  return STEM_OK;
}

#if defined(NOISY)
/* Runs as soon as the file is loaded: leaves a mark, so that a test can
 * tell whether looking up an unrelated scheme ran this plugin's code. */
__attribute__((constructor)) static void LeaveAMark(void) {
  const char* marker = getenv("STEM_NOISY_MARKER");
  if (marker != NULL) {
    FILE* file = fopen(marker, "w");
    if (file != NULL) fclose(file);
  }
}
#endif

#if defined(FUTURE_MINOR) || defined(PRESENT_BUT_UNIMPLEMENTED)
/* Claims that answer, so that a test can tell the host called them. */
static int32_t ClaimDue(void* s, int64_t now, int32_t limit,
                        stem_string_view owner, int64_t ttl,
                        stem_buffer* e, stem_buffer* err) {
  (void)s; (void)now; (void)limit; (void)owner; (void)ttl; (void)e; (void)err;
#if defined(PRESENT_BUT_UNIMPLEMENTED)
  return STEM_UNIMPLEMENTED; /* wrong: an absent function is NULL */
#else
  return STEM_RESOURCE_EXHAUSTED; /* a code only this function returns */
#endif
}
static int32_t ReleaseClaims(void* s, const uint8_t* ids, size_t n,
                             stem_string_view owner, stem_buffer* err) {
  (void)s; (void)ids; (void)n; (void)owner; (void)err;
  return STEM_OK;
}
#endif

#if defined(FUTURE_MINOR)
/* Built against a later minor version than the host's: the descriptor and
 * the table have grown by fields this host does not know. */
static int32_t FromTheFuture(void* s) {
  (void)s;
  return STEM_OK;
}
typedef struct {
  stem_store_table known;
  int32_t (*from_the_future)(void* store);
} future_store_table;
typedef struct {
  stem_plugin_descriptor known;
  const char* from_the_future;
} future_descriptor;
static const future_store_table kFutureTable = {
    {sizeof(future_store_table), Open, Close, Get, List, Upsert, Remove, Due,
     ClaimDue, ReleaseClaims, NULL, NULL},
    FromTheFuture};
static const char* const kSchemes[] = {SCHEME, NULL};
static const future_descriptor kFuture = {
    {sizeof(future_descriptor), STEM_BEAT_PLUGIN_ABI_MAJOR,
     STEM_BEAT_PLUGIN_ABI_MINOR + 1, STEM_PLUGIN_KIND_STORE, SCHEME, "9.0.0",
     kSchemes, &kFutureTable},
    "a field this host does not know"};
__attribute__((visibility("default"))) const stem_plugin_descriptor*
stem_beat_plugin_descriptor(void) {
  return &kFuture.known;
}
#else
static const stem_store_table kTable = {
#if defined(OLD_ABI_1_0)
    /* Built before ABI 1.1: the table ends after `due` (no claims). */
    offsetof(stem_store_table, claim_due),
#else
    sizeof(stem_store_table),
#endif
    Open, Close, Get, List, Upsert, Remove,
#if defined(BROKEN_MISSING_FUNCTION)
    NULL, /* no due */
#else
    Due,
#endif
#if defined(PRESENT_BUT_UNIMPLEMENTED)
    ClaimDue, ReleaseClaims, NULL, NULL,
#endif
};

static const char* const kSchemes[] = {SCHEME, NULL};

static const stem_plugin_descriptor kDescriptor = {
    sizeof(stem_plugin_descriptor),
#if defined(BROKEN_WRONG_ABI)
    STEM_BEAT_PLUGIN_ABI_MAJOR + 1,
#else
    STEM_BEAT_PLUGIN_ABI_MAJOR,
#endif
#if defined(OLD_ABI_1_0)
    0,
#else
    STEM_BEAT_PLUGIN_ABI_MINOR,
#endif
    STEM_PLUGIN_KIND_STORE, SCHEME, "0.0.1", kSchemes, &kTable};

__attribute__((visibility("default"))) const stem_plugin_descriptor*
stem_beat_plugin_descriptor(void) {
  return &kDescriptor;
}
#endif /* FUTURE_MINOR */
#endif
