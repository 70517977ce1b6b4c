/* The release version of palisade: palisaded, polctl and the packages carry this one string.
 *
 * The Makefile reads it from here (`make version`), so this line is the only place to change.
 * The pinned datapath's layout has its own number, PAL_LAYOUT_VERSION in abi.h: a release that
 * keeps the map layout keeps that number.
 */
#ifndef PALISADE_VERSION_H
#define PALISADE_VERSION_H

#define PALISADE_VERSION "0.1.0"

/* palisaded keeps PALISADE_VERSION in this ELF section as well, so `polctl version` can name the
 * version of the agent that is running (read from /proc/PID/exe, which stays readable after the
 * binary on disk was replaced by an upgrade) without asking the agent anything. */
#define PALISADE_VERSION_SECTION ".palisade_version"

#endif
