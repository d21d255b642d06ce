#!/bin/sh
# check-rpm.sh TARBALL [OUTDIR] - build the chatd RPM from a `make dist`
# tarball (chatd-VERSION.tar.gz) with packaging/rpm/chatd.spec, then check
# its file list, its config files and its scriptlets.  The .rpm files land
# in OUTDIR (default: the current directory).
#
# On Debian, rpmbuild has neither the build dependencies in its database
# nor the systemd macros: it runs with --nodeps and --load=systemd-macros
# (beside this script).  Where the real macros exist (Fedora), set
# CHATD_RPM_MACROS=none to use them.  rpmlint is not used: bookworm's
# rpmlint 1.x reports obsolete errors.
#
# CHATD_RPM_NOCHECK=1 skips the spec's %check (rpmbuild --nocheck).
#
# Exit: 0 all checks passed, 1 a check failed, 77 rpmbuild missing,
# 64 usage.  The last line is "N passed, M failed".
set -u

here=$(cd "$(dirname "$0")" && pwd)
usage() { echo "usage: $0 chatd-VERSION.tar.gz [OUTDIR]" >&2; exit 64; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
tarball=$1
[ -f "$tarball" ] || { echo "check-rpm.sh: $tarball: no such file" >&2; exit 66; }
out=$(cd "${2:-.}" && pwd) || usage
for t in rpmbuild rpm rpm2cpio cpio; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "check-rpm.sh: SKIP: $t not found (apt-get install rpm cpio)"; exit 77; }
done

name=$(basename "$tarball")
case $name in
chatd-*.tar.gz) version=${name#chatd-}; version=${version%.tar.gz} ;;
*) echo "check-rpm.sh: $name is not chatd-VERSION.tar.gz" >&2; exit 64 ;;
esac
tar -tzf "$tarball" "chatd-$version/COPYING" >/dev/null 2>&1 || {
	echo "check-rpm.sh: $name has no COPYING (the spec's %license needs it)" >&2; exit 1; }

top=$(mktemp -d "${TMPDIR:-/tmp}/chatd-rpm.XXXXXX")
trap 'rm -rf "$top"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$top/SOURCES" "$top/SPECS" "$top/BUILD" "$top/RPMS" "$top/SRPMS"
cp "$tarball" "$top/SOURCES/"
cp "$here/chatd.spec" "$top/SPECS/"

# _docdir_fmt: doc and license directories named as on Fedora (Debian's
# rpm would append -VERSION).
set -- --define "_topdir $top" --define "chatd_version $version" \
    --define "_docdir_fmt %%{NAME}"
case ${CHATD_RPM_MACROS:-$here/systemd-macros} in
none) ;;
*) set -- "$@" --nodeps --load="${CHATD_RPM_MACROS:-$here/systemd-macros}" ;;
esac

[ "${CHATD_RPM_NOCHECK:-0}" = 1 ] && set -- "$@" --nocheck
echo "check-rpm.sh: rpmbuild -ba chatd.spec (version $version)"
if ! timeout 900 rpmbuild "$@" -ba "$top/SPECS/chatd.spec" >"$top/build.log" 2>&1; then
	tail -n 40 "$top/build.log" >&2
	echo "check-rpm.sh: rpmbuild failed" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

rpmfile=$(find "$top/RPMS" -name "chatd-$version-*.rpm" ! -name '*debug*' | head -n 1)
srpm=$(find "$top/SRPMS" -name "chatd-$version-*.src.rpm" | head -n 1)
[ -n "$rpmfile" ] || { echo "check-rpm.sh: no binary rpm in $top/RPMS" >&2; exit 1; }
cp "$rpmfile" "$out/"
[ -n "$srpm" ] && cp "$srpm" "$out/"
echo "check-rpm.sh: wrote $out/$(basename "$rpmfile")"

pass=0 fail=0
check() { # check "what" command... ; the command's output is shown on failure
	what=$1; shift
	if res=$("$@" 2>&1); then
		pass=$((pass + 1)); echo "ok - $what"
	else
		fail=$((fail + 1)); echo "not ok - $what"
		printf '%s\n' "$res" | sed 's/^/    # /'
	fi
}

rpm -qpl "$rpmfile" 2>/dev/null | sort >"$top/files"
case ${CHATD_RPM_MACROS:-$here/systemd-macros} in
none) unitdir=$(rpm --eval '%{_unitdir}') ;;
*) unitdir=$(rpm --load="${CHATD_RPM_MACROS:-$here/systemd-macros}" --eval '%{_unitdir}') ;;
esac

# Every file the package must have (shell patterns), and nothing else.
cat >"$top/expected" <<EOF
/etc/chatd.conf
/usr/sbin/chatd
$unitdir/chatd.service
$unitdir/chatd.socket
$unitdir/chatd-echo.socket
/usr/share/man/man8/chatd.8*
/usr/share/man/man5/chatd.conf.5*
/usr/share/doc/chatd/README.md
/usr/share/doc/chatd/NEWS
/usr/share/doc/chatd/PROTOCOL
/usr/share/licenses/chatd/COPYING
/usr/share/chatd/www/index.html
/usr/share/chatd/www/chat.js
/usr/share/chatd/www/chat.css
EOF

files_have_all() {
	rc=0
	while read -r pat; do
		found=no
		while read -r f; do
			# shellcheck disable=SC2254
			case $f in $pat) found=yes; break ;; esac
		done <"$top/files"
		[ $found = yes ] || { echo "missing: $pat"; rc=1; }
	done <"$top/expected"
	return $rc
}
files_nothing_else() {
	rc=0
	while read -r f; do
		case $f in
		/usr/share/doc/chatd|/usr/share/licenses/chatd) continue ;;
		/usr/share/chatd|/usr/share/chatd/www) continue ;;
		/usr/lib/.build-id|/usr/lib/.build-id/*) continue ;;  # rpm's build-id links
		esac
		ok=no
		while read -r pat; do
			# shellcheck disable=SC2254
			case $f in $pat) ok=yes; break ;; esac
		done <"$top/expected"
		[ $ok = yes ] || { echo "unexpected: $f"; rc=1; }
	done <"$top/files"
	return $rc
}
check "rpm -qpl lists every file chatd installs" files_have_all
check "rpm -qpl lists nothing else" files_nothing_else

config_noreplace() {
	rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpmfile" |
	    grep -E '^c[a-z]*n[a-z]* /etc/chatd\.conf$' ||
	    { rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpmfile"; return 1; }
}
check "/etc/chatd.conf is %config(noreplace)" config_noreplace
check "/etc/chatd.conf is the only config file" \
    sh -c '[ "$(rpm -qpc "$1")" = /etc/chatd.conf ] || rpm -qpc "$1"; [ "$(rpm -qpc "$1")" = /etc/chatd.conf ]' sh "$rpmfile"

rpm -qp --scripts "$rpmfile" >"$top/scripts" 2>&1
# The sections of `rpm -qp --scripts`: "postinstall scriptlet (using
# /bin/sh):" followed by its body, up to the next such header.
section() {
	awk -v want="$1" '
	    /^[a-z]+ scriptlet/ { cur = $1; next }
	    /^[a-z]+ program:/ { cur = ""; next }
	    cur == want { print }' "$top/scripts"
}
scripts_have() { # section regex...
	sec=$1; shift
	body=$(section "$sec")
	for re; do
		printf '%s\n' "$body" | grep -Eq -- "$re" || {
			echo "$sec scriptlet lacks /$re/:"; printf '%s\n' "$body"; return 1; }
	done
}
units='chatd\.socket chatd-echo\.socket chatd\.service'
check "%post: enable by preset on first install only" \
    scripts_have postinstall '\$1 -eq 1' "preset $units"
check "%preun: disable and stop all three units on removal, sockets first" \
    scripts_have preuninstall '\$1 -eq 0' "disable --now $units"
check "%postun: daemon-reload and try-restart chatd.service on upgrade" \
    scripts_have postuninstall '\$1 -ge 1' 'daemon-reload' 'try-restart chatd\.service'
check "%postun: the socket units are not restarted" \
    sh -c '! rpm -qp --scripts "$1" | grep -E "(try-)?restart .*chatd(-echo)?\.socket"' sh "$rpmfile"
check "no %pre scriptlet needed (no static user)" \
    sh -c '! rpm -qp --scripts "$1" | grep -q "^preinstall scriptlet"' sh "$rpmfile"

mkdir "$top/x"
(cd "$top/x" && rpm2cpio "$rpmfile" | cpio -idm --quiet) 2>/dev/null
svc=$top/x$unitdir/chatd.service
check "the packaged chatd.service runs /usr/sbin/chatd -c /etc/chatd.conf" \
    grep -qx 'ExecStart=/usr/sbin/chatd -c /etc/chatd.conf' "$svc"
check "the packaged chatd.service checks the file with chatd -t first" \
    grep -qx 'ExecStartPre=/usr/sbin/chatd -t -c /etc/chatd.conf' "$svc"
check "no @VARIABLE@ left in the packaged units" \
    sh -c '! grep -n "@[A-Z_]*@" "$@"' sh "$top/x$unitdir"/chatd*
check "the packaged chatd is a runnable binary (chatd -V)" "$top/x/usr/sbin/chatd" -V

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
