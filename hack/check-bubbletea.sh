#!/usr/bin/env bash
# Checks that third_party/bubbletea is the upstream release it says it is,
# with only the differences its README lists, and that roost's go.mod
# requires that release and replaces it with the copy.
#
# The list is the block between the "begin differences" and "end
# differences" lines of third_party/bubbletea/README.md, one entry a line:
#
#   upstream MODULE VERSION   the release the copy is of
#   changed PATH              differs from upstream (README.md too: replaced)
#   added PATH                not in upstream
#   left-out PATTERN [except NAME...]
#                             upstream files the copy does not carry (a glob,
#                             * matches across /), but for the NAMEs; each
#                             pattern must match some
#   dropped-require MODULE    go.mod and go.sum are upstream's without the
#                             lines of MODULE
#
# Run from the repository root (make lint does); $GO names the go command.
# Needs the module in the Go module cache or the proxy: go mod download
# fetches it once, offline after.
set -euo pipefail

go=${GO:-go}

copy=third_party/bubbletea
readme=$copy/README.md
problems=0

fail() {
	problems=$((problems + 1))
	printf '%s\n\n' "$*" >&2
}

if [[ ! -f $readme ]]; then
	echo "check-bubbletea: $readme not found; run from the repository root" >&2
	exit 1
fi

entries=$(awk '
	/^<!-- end differences/ { inside = 0 }
	inside && !/^```/ && NF { print }
	/^<!-- begin differences/ { inside = 1 }
' "$readme")
if [[ -z $entries ]]; then
	echo "check-bubbletea: $readme has no list of differences (a block between <!-- begin differences --> and <!-- end differences -->)" >&2
	exit 1
fi

module="" version=""
changed=() added=() leftout=() dropped=()
while read -r kind rest; do
	case $kind in
	upstream) read -r module version <<<"$rest" ;;
	changed | replaced) changed+=("$rest") ;;
	added) added+=("$rest") ;;
	left-out) leftout+=("$rest") ;;
	dropped-require) dropped+=("$rest") ;;
	*) fail "$readme: unknown entry \"$kind $rest\" in the list of differences; use upstream, changed, replaced, added, left-out or dropped-require" ;;
	esac
done <<<"$entries"
if [[ -z $module || -z $version ]]; then
	echo "check-bubbletea: $readme: the list of differences has no \"upstream MODULE VERSION\" line" >&2
	exit 1
fi

if ! json=$("$go" mod download -json "$module@$version"); then
	echo "check-bubbletea: cannot get $module@$version from the module cache or proxy (above); run it once with network access: go mod download $module@$version" >&2
	exit 1
fi
up=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p' <<<"$json")
if [[ -z $up || ! -d $up ]]; then
	echo "check-bubbletea: go mod download -json $module@$version gave no source directory:" >&2
	echo "$json" >&2
	exit 1
fi

# listed NAME ITEM...: whether NAME is one of the items.
listed() {
	local name=$1 x
	shift
	for x in "$@"; do [[ $x == "$name" ]] && return 0; done
	return 1
}

# leftout_pattern PATH: the left-out line whose pattern PATH matches and
# whose exceptions it is not, if any.
leftout_pattern() {
	local line words
	for line in "${leftout[@]}"; do
		read -r -a words <<<"$line"
		# shellcheck disable=SC2053 # words[0] is a glob
		if [[ $1 == ${words[0]} ]] && ! listed "$1" "${words[@]:2}"; then
			echo "$line"
			return 0
		fi
	done
	return 1
}

# without_dropped FILE: FILE without the lines of the dropped requirements.
without_dropped() {
	local args=() m
	for m in "${dropped[@]}"; do args+=(-e "^[[:space:]]*${m//./\\.} "); done
	if ((${#args[@]})); then
		grep -v "${args[@]}" "$1" || true
	else
		cat "$1"
	fi
}

files() { (cd "$1" && find . -type f | sed 's|^\./||' | LC_ALL=C sort); }
upstream_files=$(files "$up")
copy_files=$(files "$copy")
ref="$module@$version"
restore="cp \"$up/%s\" $copy/%s && chmod u+w $copy/%s"

while read -r f; do
	if pattern=$(leftout_pattern "$f"); then
		if [[ -f $copy/$f ]]; then
			fail "$copy/$f is in the copy, but $readme lists it as left out (\"left-out $pattern\").
Fix: delete it, or carry it unchanged: end that line with \"except $f\" (after any other exceptions)."
		fi
		continue
	fi
	if [[ ! -f $copy/$f ]]; then
		# shellcheck disable=SC2059 # restore is a format
		fail "$copy/$f is missing: upstream $ref has it and $readme does not list it as left out.
Fix: restore it ($(printf "$restore" "$f" "$f" "$f")), or add \"left-out $f\" to the list in $readme with the reason."
		continue
	fi
	if [[ $f == go.mod || $f == go.sum ]]; then
		if ! d=$(diff -u --label "upstream's $f without them" --label "$copy/$f" <(without_dropped "$up/$f") "$copy/$f"); then
			fail "$copy/$f is not upstream's $f without the lines of the dropped requirements (${dropped[*]:-none}) that $readme lists:
$(head -n 30 <<<"$d")
Fix: start again from upstream's ($(printf "$restore" "$f" "$f" "$f")) and remove only those lines, or update the dropped-require lines in $readme."
		fi
		continue
	fi
	if listed "$f" "${changed[@]}"; then
		if cmp -s "$up/$f" "$copy/$f"; then
			fail "$copy/$f is listed as changed in $readme but is identical to upstream $ref.
Fix: remove its \"changed\" line from $readme."
		fi
		continue
	fi
	if ! cmp -s "$up/$f" "$copy/$f"; then
		fail "$copy/$f differs from upstream $ref, and $readme does not list it as changed:
$(diff -u "$up/$f" "$copy/$f" | head -n 30)
Fix: restore it ($(printf "$restore" "$f" "$f" "$f")), or, if the change is meant, add \"changed $f\" to the list in $readme and describe the change there."
	fi
done <<<"$upstream_files"

while read -r f; do
	if grep -qxF -- "$f" <<<"$upstream_files"; then
		continue
	fi
	if ! listed "$f" "${added[@]}"; then
		fail "$copy/$f is not in upstream $ref, and $readme does not list it as added.
Fix: delete it, or add \"added $f\" to the list in $readme with what it is for."
	fi
done <<<"$copy_files"

for f in "${changed[@]}"; do
	if ! grep -qxF -- "$f" <<<"$upstream_files"; then
		fail "$readme lists $f as changed, but upstream $ref has no such file.
Fix: list it as added, or remove the line."
	fi
done
for f in "${added[@]}"; do
	if grep -qxF -- "$f" <<<"$upstream_files"; then
		fail "$readme lists $f as added, but upstream $ref has it.
Fix: list it as changed (or replaced) instead."
	elif [[ ! -f $copy/$f ]]; then
		fail "$readme lists $f as added, but $copy/$f does not exist.
Fix: remove the line."
	fi
done
for line in "${leftout[@]}"; do
	read -r p _ <<<"$line"
	matched=""
	while read -r f; do
		# shellcheck disable=SC2053 # p is a glob
		if [[ $f == $p ]]; then
			matched=1
			break
		fi
	done <<<"$upstream_files"
	if [[ -z $matched ]]; then
		fail "$readme lists $p as left out, but no file of upstream $ref matches it.
Fix: remove the line."
	fi
done

# gomod KIND: what follows the module's path on its go.mod lines of KIND
# (require or replace), in a block or not.
gomod() {
	"$go" mod edit -print | awk -v kind="$1" -v m="$module" '
		/^\)/ { block = ""; next }
		/^(require|replace) \($/ { block = $1; next }
		{
			k = block; i = 1
			if ($1 == "require" || $1 == "replace") { k = $1; i = 2 }
		}
		k == kind && $i == m { $1 = ""; if (i == 2) $2 = ""; sub(/^[[:space:]]+/, ""); print }
	'
}

# roost must build against the release the copy is of, and with the copy: a
# replace of another version would not apply.
required=$(gomod require)
required=${required%% *}
replace=$(gomod replace)
if [[ $required != "$version" ]]; then
	fail "go.mod requires $module ${required:-(not at all)}, but $copy is $version.
Fix: require $version (go mod edit -require=$module@$version), or make the copy the release go.mod requires and update \"upstream\" in $readme."
fi
if [[ ${replace##*=> } != "./$copy" || ($replace != "=> "* && $replace != "$version => "*) ]]; then
	fail "go.mod does not replace $module $version with ./$copy (its replace: ${replace:-none}).
Fix: go mod edit -replace=$module=./$copy"
fi
# A dependency requiring a later release would be built with this copy all
# the same, silently older than it asked for.
if ! selected=$("$go" list -m -f '{{.Version}}' "$module"); then
	fail "go list -m $module failed (above)."
elif [[ $selected != "$version" && $selected != "$required" ]]; then
	fail "the build selects $module $selected (a dependency requires it), but $copy is $version.
Fix: make the copy $selected (upstream's $selected with the same change) and update $readme and go.mod."
fi

if ((problems)); then
	echo "check-bubbletea: $problems problem(s) with $copy against $ref (see above)." >&2
	exit 1
fi
echo "check-bubbletea: $copy is $ref with the differences $readme lists; go.mod requires $version and replaces it with the copy."
