package io.robustmutex.model;

import java.util.Objects;
import java.util.function.Predicate;

/**
 * Where a simulated thread dies: before a chosen step of its next task. The thread stops there with a
 * fatal signal pending; the kernel model then applies the return-to-user fixup (if the thread stopped
 * inside the vDSO critical section) and runs its exit: the robust list walk and the PI hand-off
 * (kernel-abi.md sections 3 and 4.3).
 */
public final class KillPoint {

    private final Predicate<Step> where;
    private final String description;

    private KillPoint(Predicate<Step> where, String description) {
        this.where = where;
        this.description = description;
    }

    /**
     * Kill before the step with this index (0 is before the task's first step).
     *
     * @param index a step index
     * @return the kill point
     */
    public static KillPoint beforeStep(int index) {
        if (index < 0) {
            throw new IllegalArgumentException("index=" + index);
        }
        return new KillPoint(step -> step.index() == index, "before step " + index);
    }

    /**
     * Kill before the first step that matches.
     *
     * @param where the condition on the step about to run
     * @param description what the condition means, for messages
     * @return the kill point
     */
    public static KillPoint beforeFirst(Predicate<Step> where, String description) {
        return new KillPoint(Objects.requireNonNull(where, "where"), description);
    }

    /**
     * Kill before the first step whose operation or target contains the text.
     *
     * @param text e.g. {@code "FUTEX_WAKE"} or {@code "list_op_pending"}
     * @return the kill point
     */
    public static KillPoint beforeFirstMentioning(String text) {
        return new KillPoint(step -> step.operation().contains(text) || step.target().contains(text),
                "before the first step mentioning " + text);
    }

    /**
     * Kill before the first store to a location of a region (the caller's own data, for example the second
     * half of an update made under the lock).
     *
     * @param region the region
     * @param offset the offset of the location written
     * @return the kill point
     */
    public static KillPoint beforeWriteTo(ModelRegion region, int offset) {
        return beforeWriteTo(region, offset, 1);
    }

    /**
     * Kill before the {@code nth} store to a location of a region. A kill point counts the writes it sees,
     * so give each task a new one.
     *
     * @param region the region
     * @param offset the offset of the location written
     * @param nth which write, from 1
     * @return the kill point
     */
    public static KillPoint beforeWriteTo(ModelRegion region, int offset, int nth) {
        if (nth < 1) {
            throw new IllegalArgumentException("nth=" + nth + " (from 1)");
        }
        String target = region.process().describe(region.address() + offset);
        int[] seen = new int[1];
        return new KillPoint(step -> step.target().equals(target) && (step.operation().startsWith("store")
                || step.operation().equals("CAS") || step.operation().equals("exchange")) && ++seen[0] == nth,
                "before write " + nth + " to " + target);
    }

    boolean matches(Step step) {
        return where.test(step);
    }

    @Override
    public String toString() {
        return description;
    }
}
