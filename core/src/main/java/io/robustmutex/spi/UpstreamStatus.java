package io.robustmutex.spi;

/**
 * Whether a kernel interface described by an architecture module is merged code or a proposal.
 */
public enum UpstreamStatus {
    /** Merged upstream (for the robust unlock: Linux 7.2). */
    MERGED,
    /** Proposed on the mailing list and not merged; names and details may still change. */
    PROPOSED
}
