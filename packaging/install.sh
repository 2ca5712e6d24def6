#!/bin/sh
# packaging/install.sh: the file work behind `make install` / `make uninstall`
# (ci/install.mk).  POSIX sh.
#
#   install.sh install 'file MODE SRC DST' 'lib MODE SRC DST' 'link TARGET DST' ...
#   install.sh uninstall
# Environment: DESTDIR (staging root, may be empty), MANIFEST (absolute path of
# the manifest inside the installed tree, without DESTDIR).
#
# The manifest lists every file and symlink install wrote ("f PATH", "l PATH")
# and every directory it had to create ("d PATH"), paths without DESTDIR, so
# uninstall removes exactly those: the files, then the directories if they are
# empty.  Nothing is ever removed recursively.
set -eu

die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

: "${MANIFEST:?MANIFEST not set}"
DESTDIR=${DESTDIR-}
case $MANIFEST in /*) ;; *) die "MANIFEST must be absolute: $MANIFEST" ;; esac
man_abs=$DESTDIR$MANIFEST

# A path we write or remove must be absolute and free of '..' so that a bad
# variable or a tampered manifest cannot reach outside the tree.
check_path() {
    case $1 in
        /*) ;;
        *) die "not an absolute path: '$1' (set PREFIX/LIBDIR/... to absolute paths)" ;;
    esac
    case /$1/ in *'/../'*|*'/./'*) die "path with . or .. component: '$1'" ;; esac
}

new_list=$(mktemp "${TMPDIR:-/tmp}/hakmem-manifest.XXXXXX")
trap 'rm -f "$new_list"' EXIT

# mkdir -p that records each directory it creates, outermost first
make_dirs() {
    d=$1 acc=
    old_ifs=$IFS; IFS=/
    set -f
    for part in $d; do
        [ -n "$part" ] || continue
        acc=$acc/$part
        if [ ! -d "$DESTDIR$acc" ]; then
            mkdir "$DESTDIR$acc" || die "cannot create $DESTDIR$acc"
            echo "d $acc" >>"$new_list"
        fi
    done
    set +f
    IFS=$old_ifs
}

# copy next to the destination, then rename: a running program that has the
# old library mapped keeps a consistent file.
put_file() {   # mode src dst
    [ -f "$2" ] || die "missing file to install: $2 (build it first: make lib)"
    check_path "$3"
    make_dirs "$(dirname "$3")"
    tmp=$DESTDIR$3.tmp.$$
    if ! { cp "$2" "$tmp" && chmod "$1" "$tmp" && mv -f "$tmp" "$DESTDIR$3"; }; then
        rm -f "$tmp"; die "cannot install $DESTDIR$3"
    fi
    echo "f $3" >>"$new_list"
    echo "  installed $DESTDIR$3"
}

put_link() {   # target dst
    check_path "$2"
    make_dirs "$(dirname "$2")"
    ln -sfn "$1" "$DESTDIR$2" || die "cannot create link $DESTDIR$2"
    echo "l $2" >>"$new_list"
    echo "  linked    $DESTDIR$2 -> $1"
}

do_install() {
    check_path "$MANIFEST"
    # the staging root is the packager's, not ours: created, never recorded
    [ -z "$DESTDIR" ] || mkdir -p "$DESTDIR" || die "cannot create DESTDIR $DESTDIR"
    for spec in "$@"; do
        set -f; set -- $spec; set +f
        case $1 in
            file|lib) [ $# -eq 4 ] || die "bad spec '$spec'"; put_file "$2" "$3" "$4" ;;
            link)     [ $# -eq 3 ] || die "bad spec '$spec'"; put_link "$2" "$3" ;;
            *) die "bad spec '$spec'" ;;
        esac
    done
    make_dirs "$(dirname "$MANIFEST")"
    # A previous install: keep the directories it created (they are still
    # ours), and remove the files it wrote that this install does not (an
    # older version's libhakmem.so.X.Y.Z).
    if [ -f "$man_abs" ]; then
        grep '^d ' "$man_abs" >>"$new_list" || true
        grep -E '^[fl] ' "$man_abs" | while read -r kind path; do
            [ "$path" = "$MANIFEST" ] && continue
            grep -qxF "f $path" "$new_list" || grep -qxF "l $path" "$new_list" && continue
            check_path "$path"
            if [ -f "$DESTDIR$path" ] || [ -L "$DESTDIR$path" ]; then
                rm -f "$DESTDIR$path" && echo "  removed stale $DESTDIR$path"
            fi
        done
    fi
    echo "f $MANIFEST" >>"$new_list"
    # directories sorted so that uninstall can remove the deepest first
    { grep -v '^d ' "$new_list"; grep '^d ' "$new_list" | sort -u; } >"$man_abs.tmp.$$"
    mv -f "$man_abs.tmp.$$" "$man_abs"
    echo "  manifest  $man_abs ($(grep -c '^[fl] ' "$man_abs") files)"
}

do_uninstall() {
    [ -f "$man_abs" ] || die "no manifest at $man_abs: nothing installed there (same PREFIX/DESTDIR as install?)"
    # read the whole manifest first: it is one of the files removed
    cp "$man_abs" "$new_list"
    while read -r kind path; do
        check_path "$path"
        case $kind in
            f|l)
                if [ -f "$DESTDIR$path" ] || [ -L "$DESTDIR$path" ]; then
                    rm -f "$DESTDIR$path"; echo "  removed $DESTDIR$path"
                else
                    echo "  (already gone) $DESTDIR$path"
                fi ;;
            d) ;;
            *) die "bad manifest line: $kind $path" ;;
        esac
    done <"$new_list"
    # deepest directories first; only empty ones go (rmdir never deletes content)
    grep '^d ' "$new_list" | cut -c3- | sort -r | while read -r path; do
        if [ -d "$DESTDIR$path" ]; then
            rmdir "$DESTDIR$path" 2>/dev/null && echo "  removed $DESTDIR$path/" \
                || echo "  kept    $DESTDIR$path/ (not empty)"
        fi
    done
}

case ${1-} in
    install) shift; do_install "$@" ;;
    uninstall) do_uninstall ;;
    *) die "usage: install.sh install SPEC... | uninstall" ;;
esac
