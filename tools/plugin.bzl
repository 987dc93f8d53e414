"""stem_beat_plugin: a plugin .so named for the registry.

Builds libbeat_<kind>_<scheme>.so from `srcs` (and a copy per alias in
`aliases`, which the descriptor must list too) (which use the SDK's
STEM_BEAT_*_PLUGIN macro). A version script keeps every symbol but the ABI
entry point local, whatever the dependencies export. The labels are
Label()s, so the macro works from another workspace:

    load("@stem_beat//tools:plugin.bzl", "stem_beat_plugin")
"""

_VERSION_SCRIPT = Label("//beat/core/plugin:plugin.lds")
_SDK = Label("//beat/core/plugin:sdk")

def stem_beat_plugin(name, kind, scheme, srcs, deps = [], aliases = [], visibility = None):
    native.cc_binary(
        name = "libbeat_%s_%s.so" % (kind, scheme),
        srcs = srcs,
        linkshared = True,
        copts = ["-fvisibility=hidden"],
        linkopts = [
            "-Wl,--version-script=$(location %s)" % _VERSION_SCRIPT,
            # Installed in <prefix>/lib/stem-beat/plugins, it finds the
            # generated-code libraries one level up (tools/install.sh).
            "-Wl,-rpath,$$ORIGIN/..",
        ],
        additional_linker_inputs = [_VERSION_SCRIPT],
        deps = deps + [_SDK],
        visibility = visibility,
    )
    # An alias scheme (rediss, postgresql) is served by a copy named for it
    # (the registry loads only the file named for the scheme it looks up).
    copies = []
    for alias in aliases:
        copy = "libbeat_%s_%s.so" % (kind, alias)
        native.genrule(
            name = "%s_%s_alias" % (name, alias.replace("+", "_")),
            srcs = [":libbeat_%s_%s.so" % (kind, scheme)],
            outs = [copy],
            cmd = "cp $< $@",
        )
        copies.append(":" + copy)
    native.filegroup(
        name = name,
        srcs = [":libbeat_%s_%s.so" % (kind, scheme)] + copies,
        visibility = visibility,
    )
