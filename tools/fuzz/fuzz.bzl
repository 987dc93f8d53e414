"""stem_beat_fuzzer: a libFuzzer target, and its corpus run as a test.

stem_beat_fuzzer(name = "x_fuzzer", srcs, deps) takes its corpus from the
package's corpus/x/ directory (seed inputs, and every input that once found
a bug) and defines
- x_fuzzer_corpus_test: a cc_test that runs every input of the corpus
  through the target, in the ordinary `bazel test //...` (and under
  --config=asan);
- x_fuzzer: the fuzzer itself, built only with --config=fuzz (clang,
  -fsanitize=fuzzer,address,undefined): `tools/fuzz/run.sh` builds and runs
  them all (docs/RELIABILITY.md says how to run one for hours).
"""

def stem_beat_fuzzer(name, srcs, deps):
    corpus = native.glob(["corpus/%s/*" % name[:-len("_fuzzer")]])
    if not corpus:
        fail("%s: no seed inputs in corpus/%s/" % (name, name[:-len("_fuzzer")]))
    native.cc_library(
        name = name + "_target",
        testonly = True,
        srcs = srcs,
        deps = deps + ["//tools/fuzz:require"],
        alwayslink = True,
    )
    native.cc_test(
        name = name + "_corpus_test",
        size = "small",
        srcs = ["//tools/fuzz:corpus_main.cc"],
        args = ["$(rootpaths %s)" % f for f in corpus],
        data = corpus,
        deps = [":" + name + "_target"],
    )
    native.cc_binary(
        name = name,
        testonly = True,
        linkopts = ["-fsanitize=fuzzer"],
        tags = ["fuzzer", "manual"],
        deps = [":" + name + "_target"],
    )
