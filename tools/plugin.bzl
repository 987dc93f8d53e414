"""stem_beat_plugin: a plugin .so named for the registry.

Builds libbeat_<kind>_<scheme>.so from `srcs` (which use the SDK's
STEM_BEAT_*_PLUGIN macro). A version script keeps every symbol but the ABI
entry point local, whatever the dependencies export.
"""

def stem_beat_plugin(name, kind, scheme, srcs, deps = [], visibility = None):
    native.cc_binary(
        name = "libbeat_%s_%s.so" % (kind, scheme),
        srcs = srcs,
        linkshared = True,
        copts = ["-fvisibility=hidden"],
        linkopts = [
            "-Wl,--version-script=$(location //beat/core/plugin:plugin.lds)",
        ],
        additional_linker_inputs = ["//beat/core/plugin:plugin.lds"],
        deps = deps + ["//beat/core/plugin:sdk"],
        visibility = visibility,
    )
    native.filegroup(
        name = name,
        srcs = [":libbeat_%s_%s.so" % (kind, scheme)],
        visibility = visibility,
    )
