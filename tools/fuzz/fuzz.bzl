"""stem_beat_fuzzer: a libFuzzer target, and its corpus run as a test.

stem_beat_fuzzer(name, srcs, deps, corpus) defines
- NAME_corpus_test: a cc_test that runs every input of `corpus` (the seed
  inputs and every crash found before) through the target, in the ordinary
  `bazel test //...` (and under --config=asan);
- NAME: the fuzzer itself, built only with --config=fuzz (clang,
  -fsanitize=fuzzer,address,undefined): `tools/fuzz/run.sh` builds and runs
  them all (docs/RELIABILITY.md says how to run one for hours).
"""

def stem_beat_fuzzer(name, srcs, deps, corpus):
    native.cc_library(
        name = name + "_target",
        testonly = True,
        srcs = srcs,
        deps = deps,
        alwayslink = True,
    )
    native.cc_test(
        name = name + "_corpus_test",
        size = "small",
        srcs = ["//tools/fuzz:corpus_main.cc"],
        args = ["$(rootpaths %s)" % corpus],
        data = [corpus],
        deps = [":" + name + "_target"],
    )
    native.cc_binary(
        name = name,
        testonly = True,
        linkopts = ["-fsanitize=fuzzer"],
        tags = ["fuzzer", "manual"],
        deps = [":" + name + "_target"],
    )
