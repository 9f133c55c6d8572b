package io.robustmutex.model;

/**
 * A task given to a {@link ModelThread}: its outcome once the thread has run it.
 *
 * @param <T> the result type
 */
public final class ModelTask<T> {

    /** How a task ended, or that it has not. */
    public enum Outcome {
        /** Not finished: not started, running, blocked, or stopped with a kill pending. */
        PENDING,
        /** Returned a result. */
        COMPLETED,
        /** Threw an exception. */
        FAILED,
        /** Its thread was killed before it finished. */
        KILLED
    }

    private final ModelThread thread;
    private volatile Outcome outcome = Outcome.PENDING;
    private volatile Object result;
    private volatile Throwable failure;

    ModelTask(ModelThread thread) {
        this.thread = thread;
    }

    void complete(Object value) {
        result = value;
        outcome = Outcome.COMPLETED;
    }

    void fail(Throwable t) {
        failure = t;
        outcome = Outcome.FAILED;
    }

    void killed() {
        outcome = Outcome.KILLED;
    }

    /**
     * The thread running the task.
     *
     * @return the thread
     */
    public ModelThread thread() {
        return thread;
    }

    /**
     * How the task ended so far.
     *
     * @return the outcome
     */
    public Outcome outcome() {
        return outcome;
    }

    /**
     * Whether the task has finished, one way or another.
     *
     * @return true unless pending
     */
    public boolean isDone() {
        return outcome != Outcome.PENDING;
    }

    /**
     * The task's result.
     *
     * @return the result
     * @throws IllegalStateException when the task did not complete; a failure is attached as the cause
     */
    @SuppressWarnings("unchecked")
    public T result() {
        if (outcome != Outcome.COMPLETED) {
            throw new IllegalStateException(thread.name() + "'s task: "
                    + outcome.name().toLowerCase(java.util.Locale.ROOT), failure);
        }
        return (T) result;
    }

    /**
     * The exception the task threw.
     *
     * @return the failure, or null
     */
    public Throwable failure() {
        return failure;
    }

    @Override
    public String toString() {
        return "ModelTask[" + thread.name() + ", " + outcome + "]";
    }
}
