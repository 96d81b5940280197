#!/usr/bin/env bash
# Install, at pinned versions, the external tools Marina's CI, tests and
# benchmarks use. Idempotent: a tool already present at its pinned version is
# skipped, so a second run is a fast no-op.
#
# Usage: bash .ci/install-tools.sh [all|conformance|clients|upstream|bench|ops|browser|s3|postgres]...
#        (default: all; several groups may be given)
#
#   conformance  OCI distribution-spec conformance binary      -> $BIN/conformance
#   clients      skopeo, podman, containerd/ctr (Debian);
#                crane, oras, regctl (go install)               -> $BIN/{crane,oras,regctl}
#   upstream     Debian docker-registry (CNCF Distribution 2.8) -> /usr/bin/docker-registry
#                (its system service is kept stopped and disabled)
#   bench        wrk, hyperfine, curl (Debian); oha (cargo install);
#                CNCF Distribution v3 registry                  -> $BIN/{oha,registry-v3}
#   ops          promtool (Debian prometheus; service disabled)  -> /usr/bin/promtool
#   browser      chromium (Debian), driven headless by playwright-core in the
#                web page tests                                 -> /usr/bin/chromium
#   s3           SeaweedFS (S3-compatible object store), built
#                from its downloaded Go module                  -> $BIN/weed
#   postgres     PostgreSQL server (Debian postgresql; the tests start
#                throwaway clusters; the system service is kept
#                stopped and disabled)           -> /usr/lib/postgresql/*/bin
#
# Go and Rust binaries go to $MARINA_TOOLS_DIR/bin (default /opt/marina-tools/bin);
# Debian binaries go to /usr/bin. Callers put the tools first on PATH with:
#   export PATH="/opt/marina-tools/bin:$PATH"
#
# Environment knobs:
#   MARINA_TOOLS_DIR   install root (default /opt/marina-tools)
#   MARINA_TOOLS_QUIET=1  only print the summary lines
#   MARINA_TOOLS_FORCE=1  rebuild the Go and cargo tools even if up to date
#   MARINA_TOOLS_SKIP_OHA=1  bench group without oha (its cargo build takes
#                      ~9 min on 2 cores; everything else in bench ~2 min)
set -euo pipefail

# ---------------------------------------------------------------------------
# Pinned versions
# ---------------------------------------------------------------------------
CONFORMANCE_MOD=github.com/opencontainers/distribution-spec/conformance
CONFORMANCE_VER=v0.0.0-20260831232431-97274622c111
CONFORMANCE_COMMIT=${CONFORMANCE_VER##*-}            # 97274622c111

GGCR_MOD=github.com/google/go-containerregistry     # crane
GGCR_VER=v0.22.1
ORAS_MOD=oras.land/oras
ORAS_VER=v1.3.6
REGCLIENT_MOD=github.com/regclient/regclient         # regctl
REGCLIENT_VER=v0.11.7
DIST3_MOD=github.com/distribution/distribution/v3    # registry (v3)
DIST3_VER=v3.1.2
SEAWEEDFS_MOD=github.com/seaweedfs/seaweedfs         # weed (S3 blob store tests)
SEAWEEDFS_VER=v0.0.0-20261109003541-7506e5f91cd6

OHA_VER=1.16.0

# Debian bookworm versions. Installed exactly when the archive still carries
# them; if a point release has replaced one, the current candidate is taken
# and a warning printed (the summary shows what is actually installed).
declare -A APT_PIN=(
  [skopeo]=1.9.3+ds1-1+b10
  [podman]=4.3.1+ds1-8+deb12u1+b3
  [containerd]=1.6.20~ds1-1+deb12u3
  [docker-registry]=2.8.2+ds1-1
  [wrk]=4.1.0-3+b2
  [hyperfine]=1.15.0-2
  [prometheus]=2.42.0+ds-5+deb12u1
  [chromium]=156.0.8078.114-1~deb12u1
)

# ---------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------
TOOLS_DIR=${MARINA_TOOLS_DIR:-/opt/marina-tools}
BIN=$TOOLS_DIR/bin
STAMPS=$TOOLS_DIR/stamps
QUIET=${MARINA_TOOLS_QUIET:-0}
FORCE=${MARINA_TOOLS_FORCE:-0}

# go and cargo live outside the default PATH on fresh machines of this kind.
for d in /usr/local/go/bin "$HOME/.cargo/bin" "$BIN"; do
  case ":$PATH:" in *":$d:"*) ;; *) [ -d "$d" ] && PATH="$d:$PATH" ;; esac
done
export PATH

log()  { [ "$QUIET" = 1 ] || printf '[install-tools] %s\n' "$*" >&2; }
warn() { printf '[install-tools] WARNING: %s\n' "$*" >&2; }
die()  { printf '[install-tools] ERROR: %s\n' "$*" >&2; exit 1; }

SUMMARY=()
summary() { SUMMARY+=("$(printf '%-16s %s' "$1" "$2")"); }

usage() { sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; }

GROUPS_WANTED=()
for a in "$@"; do
  case "$a" in
    all) GROUPS_WANTED+=(conformance clients upstream bench ops browser s3 postgres) ;;
    conformance|clients|upstream|bench|ops|browser|s3|postgres) GROUPS_WANTED+=("$a") ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown group '$a'" ;;
  esac
done
[ ${#GROUPS_WANTED[@]} -gt 0 ] || GROUPS_WANTED=(conformance clients upstream bench ops browser s3 postgres)
want() { local g; for g in "${GROUPS_WANTED[@]}"; do [ "$g" = "$1" ] && return 0; done; return 1; }

SUDO=
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else die "must run as root (or with sudo) for apt-get"; fi
fi
$SUDO mkdir -p "$BIN" "$STAMPS"
[ -w "$BIN" ] || $SUDO chown -R "$(id -u):$(id -g)" "$TOOLS_DIR"

# ---------------------------------------------------------------------------
# Debian packages
# ---------------------------------------------------------------------------
APT_UPDATED=0
apt_installed_version() {
  { dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null || true; } |
    awk '$1=="install" && $3=="installed" {print $4}'
}

# apt_ensure PKG...: install each PKG at its pinned version unless already there.
apt_ensure() {
  local p cur todo=() specs=()
  for p in "$@"; do
    cur=$(apt_installed_version "$p")
    if [ -n "$cur" ] && { [ -z "${APT_PIN[$p]:-}" ] || [ "$cur" = "${APT_PIN[$p]}" ]; }; then
      continue
    fi
    todo+=("$p")
  done
  [ ${#todo[@]} -gt 0 ] || return 0

  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    $SUDO apt-get update -qq -o DPkg::Lock::Timeout=600
    APT_UPDATED=1
  fi
  for p in "${todo[@]}"; do
    local pin=${APT_PIN[$p]:-}
    if [ -n "$pin" ] && apt-cache madison "$p" | awk -F'|' '{gsub(/ /,"",$2); print $2}' | grep -qxF "$pin"; then
      specs+=("$p=$pin")
    else
      [ -n "$pin" ] && warn "$p $pin is no longer in the archive; installing the current candidate"
      cur=$(apt_installed_version "$p")
      if [ -n "$cur" ]; then continue; fi   # installed at another version and pin unavailable: keep it
      specs+=("$p")
    fi
  done
  [ ${#specs[@]} -gt 0 ] || return 0

  # Never let a package's maintainer script start a service (docker-registry's
  # postinst runs `invoke-rc.d docker-registry start`). Debian images usually
  # ship /usr/sbin/policy-rc.d (exit 101); add a temporary one if not.
  local tmp_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    tmp_policy=1
  fi
  log "apt-get install ${specs[*]}"
  local rc=0
  # DPkg::Lock::Timeout: wait for a concurrent apt/dpkg instead of failing.
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends --allow-downgrades -o DPkg::Lock::Timeout=600 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${specs[@]}" >&2 || rc=$?
  [ "$tmp_policy" = 0 ] || $SUDO rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || die "apt-get install failed ($rc)"
}

apt_summary() { # apt_summary PKG BINARY VERSION-CMD...
  local pkg=$1 bin=$2; shift 2
  command -v "$bin" >/dev/null || die "$bin missing after installing $pkg"
  local out
  out=$("$@" 2>&1) || die "'$*' failed: $out"
  out=${out%%$'\n'*}
  out=$(printf '%s' "$out" | tr -s ' \t' ' ')
  summary "$bin" "$out  [deb $pkg $(apt_installed_version "$pkg"), $(command -v "$bin")]"
}

# ---------------------------------------------------------------------------
# Go tools
# ---------------------------------------------------------------------------
# go_tool NAME PKG MOD VERSION [LDFLAGS]: install PKG@VERSION as $BIN/NAME.
go_tool() {
  local name=$1 pkg=$2 mod=$3 ver=$4 ldflags="-s -w ${5:-}"
  local dest=$BIN/$name stamp="$pkg@$ver ldflags=$ldflags"
  command -v go >/dev/null || die "go not found (expected /usr/local/go/bin/go)"
  if [ "$FORCE" != 1 ] && [ -x "$dest" ] && [ "$(cat "$STAMPS/$name" 2>/dev/null)" = "$stamp" ] &&
     go version -m "$dest" 2>/dev/null | awk -v m="$mod" -v v="$ver" '$1=="mod" && $2==m && $3==v {ok=1} END {exit !ok}'; then
    log "$name $ver already installed"
    return 0
  fi
  log "go install $pkg@$ver"
  local stage t0=$SECONDS
  stage=$(mktemp -d "$TOOLS_DIR/.stage.XXXXXX")
  # cd / + GOWORK=off: no go.mod/go.work from the caller's cwd interferes.
  # CGO_ENABLED=0: no C compiles, static binaries. -trimpath: reproducible.
  # GOTOOLCHAIN=local: never download another Go toolchain.
  if ! (cd / && GOBIN=$stage GOWORK=off CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-trimpath -buildvcs=false" \
        go install -ldflags="$ldflags" "$pkg@$ver" >&2); then
    rm -rf "$stage"; die "go install $pkg@$ver failed"
  fi
  mv -f "$stage/${pkg##*/}" "$dest"
  rm -rf "$stage"
  printf '%s' "$stamp" > "$STAMPS/$name"
  log "$name built in $((SECONDS - t0))s"
}

# go_module_build NAME MOD VERSION PKGDIR [LDFLAGS]: build PKGDIR of MOD@VERSION as $BIN/NAME.
# For modules whose go.mod has replace directives, which `go install mod@ver`
# refuses: download the module, copy it to a writable stage dir and build there.
go_module_build() {
  local name=$1 mod=$2 ver=$3 pkgdir=$4 ldflags="-s -w ${5:-}"
  local dest=$BIN/$name stamp="$mod@$ver $pkgdir ldflags=$ldflags"
  command -v go >/dev/null || die "go not found (expected /usr/local/go/bin/go)"
  if [ "$FORCE" != 1 ] && [ -x "$dest" ] && [ "$(cat "$STAMPS/$name" 2>/dev/null)" = "$stamp" ]; then
    log "$name $ver already installed"
    return 0
  fi
  log "building $mod@$ver $pkgdir (slow: ~10+ min on 2 cores)"
  local stage dir t0=$SECONDS
  dir=$(cd / && GOWORK=off GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "$mod@$ver" |
        awk -F'"' '$2=="Dir" {print $4}') || die "go mod download $mod@$ver failed"
  [ -n "$dir" ] && [ -f "$dir/go.mod" ] || die "go mod download $mod@$ver gave no module dir"
  stage=$(mktemp -d "$TOOLS_DIR/.stage.XXXXXX")
  cp -R "$dir/." "$stage/src" && chmod -R u+w "$stage/src"
  if ! (cd "$stage/src" && GOWORK=off CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-trimpath -buildvcs=false -mod=mod" \
        go build -ldflags="$ldflags" -o "$stage/$name" "$pkgdir" >&2); then
    rm -rf "$stage"; die "go build $mod@$ver $pkgdir failed"
  fi
  mv -f "$stage/$name" "$dest"
  rm -rf "$stage"
  printf '%s' "$stamp" > "$STAMPS/$name"
  log "$name built in $((SECONDS - t0))s"
}

go_summary() { # go_summary NAME VERSION-CMD...
  local name=$1; shift
  local out
  out=$("$@" 2>&1) || die "'$*' failed: $out"
  out=${out%%$'\n'*}
  out=$(printf '%s' "$out" | tr -s ' \t' ' ')
  summary "$name" "$out  [$BIN/$name]"
}

# ---------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------
group_conformance() {
  go_tool conformance "$CONFORMANCE_MOD" "$CONFORMANCE_MOD" "$CONFORMANCE_VER" \
    "-X main.Version=$CONFORMANCE_COMMIT"
  # The binary has no --version flag: it runs the suite straight away. Its
  # version (commit) appears in the results; report the embedded module version.
  local v
  v=$(go version -m "$BIN/conformance" | awk '$1=="mod" {print $3}')
  [ "$v" = "$CONFORMANCE_VER" ] || die "conformance binary reports '$v'"
  summary conformance "$v (commit $CONFORMANCE_COMMIT)  [$BIN/conformance]"
}

podman_check() {
  local drv
  if drv=$(podman info --format '{{.Store.GraphDriverName}}' 2>/dev/null); then
    echo "$drv"; return 0
  fi
  # Native overlay does not work everywhere (e.g. inside an overlayfs-rooted
  # container). Fall back to the vfs driver, but only if nobody configured
  # storage yet.
  if [ "$(id -u)" = 0 ] && [ ! -e /etc/containers/storage.conf ]; then
    warn "podman info failed; writing /etc/containers/storage.conf (driver = vfs)"
    $SUDO mkdir -p /etc/containers
    printf '[storage]\ndriver = "vfs"\nrunroot = "/run/containers/storage"\ngraphroot = "/var/lib/containers/storage"\n' |
      $SUDO tee /etc/containers/storage.conf >/dev/null
    podman system reset -f >/dev/null 2>&1 || true
    drv=$(podman info --format '{{.Store.GraphDriverName}}') || return 1
    echo "$drv"; return 0
  fi
  return 1
}

group_clients() {
  # openssl: the access-control tests generate a CA and server certificates for TLS logins.
  apt_ensure skopeo podman containerd openssl
  go_tool crane  "$GGCR_MOD/cmd/crane" "$GGCR_MOD" "$GGCR_VER" \
    "-X $GGCR_MOD/cmd/crane/cmd.Version=$GGCR_VER"
  go_tool oras   "$ORAS_MOD/cmd/oras" "$ORAS_MOD" "$ORAS_VER" \
    "-X $ORAS_MOD/internal/version.GitTreeState=clean"
  go_tool regctl "$REGCLIENT_MOD/cmd/regctl" "$REGCLIENT_MOD" "$REGCLIENT_VER" \
    "-X $REGCLIENT_MOD/internal/version.vcsTag=$REGCLIENT_VER"

  apt_summary skopeo skopeo skopeo --version
  apt_summary podman podman podman --version
  apt_summary containerd ctr ctr --version
  apt_summary openssl openssl openssl version
  local drv
  drv=$(podman_check) || die "podman info fails; see 'podman info'"
  summary "podman info" "ok (storage driver $drv)"
  go_summary crane  "$BIN/crane" version
  go_summary oras   "$BIN/oras" version
  go_summary regctl sh -c "'$BIN/regctl' version --format '{{.VCSTag}}'"
}

stop_debian_registry_service() {
  # The package's postinst asks invoke-rc.d to start the service; policy-rc.d
  # denies that. Also disable it so a later boot (sysvinit or systemd) does
  # not start a registry on :5000, and stop one if it somehow runs.
  $SUDO update-rc.d docker-registry disable >/dev/null 2>&1 || true
  if command -v deb-systemd-helper >/dev/null; then
    $SUDO deb-systemd-helper disable docker-registry.service >/dev/null 2>&1 || true
  fi
  local pids
  pids=$(pgrep -u docker-registry -x docker-registry 2>/dev/null || true)
  if [ -n "$pids" ]; then
    warn "stopping the docker-registry system service (pid $pids)"
    # shellcheck disable=SC2086
    $SUDO kill $pids 2>/dev/null || true
  fi
}

group_upstream() {
  local fresh=0
  [ -n "$(apt_installed_version docker-registry)" ] || fresh=1
  apt_ensure docker-registry
  [ "$fresh" = 0 ] || stop_debian_registry_service
  if pgrep -u docker-registry -x docker-registry >/dev/null 2>&1; then
    stop_debian_registry_service
  fi
  apt_summary docker-registry docker-registry docker-registry --version
}

group_bench() {
  apt_ensure wrk hyperfine curl
  go_tool registry-v3 "$DIST3_MOD/cmd/registry" "$DIST3_MOD" "$DIST3_VER" \
    "-X $DIST3_MOD/version.version=$DIST3_VER -X $DIST3_MOD/version.mainpkg=$DIST3_MOD"

  local skip_oha=${MARINA_TOOLS_SKIP_OHA:-0}
  if [ "$skip_oha" = 1 ]; then
    log "oha skipped (MARINA_TOOLS_SKIP_OHA=1)"
  elif [ "$FORCE" != 1 ] && [ -x "$BIN/oha" ] && [ "$("$BIN/oha" --version 2>/dev/null)" = "oha $OHA_VER" ]; then
    log "oha $OHA_VER already installed"
  else
    command -v cargo >/dev/null || die "cargo not found (expected ~/.cargo/bin/cargo)"
    log "cargo install oha --version $OHA_VER --locked (slow: ~minutes on 2 cores)"
    local t0=$SECONDS
    cargo install oha --version "$OHA_VER" --locked --root "$TOOLS_DIR" --force >&2 ||
      die "cargo install oha failed"
    log "oha built in $((SECONDS - t0))s"
  fi

  apt_summary wrk wrk sh -c 'wrk -v 2>&1; true'
  apt_summary hyperfine hyperfine hyperfine --version
  if [ "$skip_oha" = 1 ]; then summary oha "skipped"; else go_summary oha "$BIN/oha" --version; fi
  go_summary registry-v3 "$BIN/registry-v3" --version
}

group_ops() {
  # promtool validates deploy/prometheus/*.yml. It ships in Debian's prometheus package (19 MB), whose server
  # must not run here: policy-rc.d keeps it from starting; disable it for later boots too.
  apt_ensure prometheus
  $SUDO update-rc.d prometheus disable >/dev/null 2>&1 || true
  if command -v deb-systemd-helper >/dev/null; then
    $SUDO deb-systemd-helper disable prometheus.service >/dev/null 2>&1 || true
  fi
  apt_summary prometheus promtool promtool --version
}

group_browser() {
  apt_ensure chromium
  # The launcher script prints a shell warning on stderr on large-memory machines; the version is on stdout.
  apt_summary chromium chromium sh -c 'chromium --version 2>/dev/null'
}

group_s3() {
  go_module_build weed "$SEAWEEDFS_MOD" "$SEAWEEDFS_VER" ./weed
  go_summary weed "$BIN/weed" version
}

pg_bin_dir() { # the newest installed server's bin directory, or nothing
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && dirname "$d"
}

group_postgres() {
  # Fast path: a server binary is already there (no dpkg or apt work at all).
  if [ -z "$(pg_bin_dir)" ]; then
    apt_ensure postgresql
    # Tests start their own clusters; the package's default cluster service must not run or start at boot.
    $SUDO update-rc.d postgresql disable >/dev/null 2>&1 || true
    if command -v deb-systemd-helper >/dev/null; then
      $SUDO deb-systemd-helper disable postgresql.service >/dev/null 2>&1 || true
    fi
  fi
  local bin
  bin=$(pg_bin_dir) || true
  [ -n "$bin" ] || die "postgres missing after installing postgresql"
  id postgres >/dev/null 2>&1 || die "the postgresql package created no 'postgres' user"
  summary postgres "$("$bin/postgres" --version)  [$bin]"
}

# ---------------------------------------------------------------------------
declare -A GROUP_TIME=()
for g in conformance clients upstream bench ops browser s3 postgres; do
  want "$g" || continue
  t0=$SECONDS
  log "== group $g"
  "group_$g"
  GROUP_TIME[$g]=$((SECONDS - t0))
  log "== group $g done in ${GROUP_TIME[$g]}s"
done

echo "# marina tools (groups: ${GROUPS_WANTED[*]})"
for l in "${SUMMARY[@]}"; do echo "$l"; done
times=""
for g in conformance clients upstream bench ops browser s3 postgres; do
  [ -n "${GROUP_TIME[$g]:-}" ] && times+=" $g=${GROUP_TIME[$g]}s"
done
echo "# group wall time:$times"
echo "# Go/Rust tools are in $BIN (Debian tools in /usr/bin). Use them with:"
echo "export PATH=\"$BIN:\$PATH\""
