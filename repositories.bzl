"""Declares every external repository that stem-beat's targets need.

Call `stem_beat_dependencies()` from a WORKSPACE (ours or another repo's
that depends on `@stem_beat`). Nothing is downloaded: Bazel's built-in tool
repositories are satisfied by small local stand-ins and Debian's packages,
and C++ libraries come from the system (`tools/setup.sh` installs them).
"""

def _repository_from_package_impl(repository_ctx):
    # Mirrors a folder of @stem_beat (found through a marker file in it) as a
    # repository of its own, so the macro works from any workspace.
    source_dir = repository_ctx.path(repository_ctx.attr.marker).dirname
    for child in source_dir.readdir():
        repository_ctx.symlink(child, child.basename)

_repository_from_package = repository_rule(
    implementation = _repository_from_package_impl,
    attrs = {"marker": attr.label(allow_single_file = True, mandatory = True)},
    local = True,
)

def stem_beat_dependencies(rules_java_path = "/usr/share/bazel/rules/java"):
    """Declares rules_cc, rules_java, remote_coverage_tools and @stem_beat_system.

    Args:
      rules_java_path: where Debian's bazel-rules-java package put rules_java.
    """
    existing = native.existing_rules()
    if "rules_cc" not in existing:
        _repository_from_package(
            name = "rules_cc",
            marker = Label("//third_party/rules_cc:WORKSPACE"),
        )
    if "remote_coverage_tools" not in existing:
        _repository_from_package(
            name = "remote_coverage_tools",
            marker = Label("//third_party/remote_coverage_tools:WORKSPACE"),
        )
    if "rules_java" not in existing:
        native.local_repository(
            name = "rules_java",
            path = rules_java_path,
        )
    if "stem_beat_system" not in existing:
        native.new_local_repository(
            name = "stem_beat_system",
            path = "/usr",
            build_file = "@stem_beat//third_party:system_libs.BUILD",
        )
