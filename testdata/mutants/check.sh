#!/bin/sh
# check.sh applies each mutant (a deliberate bug, one *.patch here) to a
# scratch copy of the working tree and runs the tests its header names
# ("test: PACKAGE RUN-REGEXP" lines): every one of them must pass on the
# unchanged tree and fail with the mutant. The working tree is never
# modified. docs/mutants.md lists the mutants and why each matters.
#
# Usage: testdata/mutants/check.sh [NAME...]   (default: every mutant)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

cd "$root"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - 2>/dev/null | tar -xf - -C "$tmp"

if [ $# -eq 0 ]; then
	set -- $(cd "$here" && ls *.patch | sed 's/\.patch$//')
fi

fail=0
for name in "$@"; do
	patch="$here/$name.patch"
	tests=$(sed -n 's/^test: //p' "$patch")
	if [ -z "$tests" ]; then
		echo "$name: ERROR no test: line"; fail=1; continue
	fi
	if ! (cd "$tmp" && git apply --check "$patch" 2>/dev/null); then
		echo "$name: STALE the patch no longer applies: rewrite it for the current code"; fail=1; continue
	fi
	echo "$tests" | while read -r pkg run; do
		(cd "$tmp" && go test -count=1 -run "$run" "$pkg" >/dev/null 2>&1) || {
			echo "$name: ERROR $pkg $run fails without the mutant"; exit 1; }
	done || { fail=1; continue; }
	(cd "$tmp" && git apply "$patch")
	# A mutant that does not build would be "caught" by any test: it must
	# build and vet, or it proves nothing.
	if ! (cd "$tmp" && go vet ./... >/dev/null 2>&1); then
		(cd "$tmp" && git apply -R "$patch")
		echo "$name: ERROR the mutant does not build: rewrite it"; fail=1; continue
	fi
	survived=$(echo "$tests" | while read -r pkg run; do
		if (cd "$tmp" && go test -count=1 -run "$run" "$pkg" >/dev/null 2>&1); then
			echo "$pkg $run"
		fi
	done)
	(cd "$tmp" && git apply -R "$patch")
	if [ -n "$survived" ]; then
		echo "$name: SURVIVED $(echo "$survived" | tr '\n' ';')"; fail=1
	else
		echo "$name: caught by $(echo "$tests" | awk '{print $2}' | tr -d '^$' | paste -sd ' ')"
	fi
done
exit $fail
