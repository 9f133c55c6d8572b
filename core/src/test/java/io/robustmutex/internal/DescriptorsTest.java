package io.robustmutex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The shared-memory layouts are exactly those of design.md section 3 and kernel-abi.md sections 1 and 2. */
class DescriptorsTest {

    /** The mutex record's fields sit at the documented offsets in one 64-byte line. */
    @Test
    void mutexRecordLayout() {
        assertEquals(0, MutexRecordDescriptor.FUTEX_WORD_OFFSET);
        assertEquals(4, MutexRecordDescriptor.STATE_OFFSET);
        assertEquals(8, MutexRecordDescriptor.FENCING_TOKEN_OFFSET);
        assertEquals(16, MutexRecordDescriptor.RESERVED_LINK_OFFSET);
        assertEquals(24, MutexRecordDescriptor.LIST_PREV_OFFSET);
        assertEquals(32, MutexRecordDescriptor.LIST_NEXT_OFFSET);
        assertEquals(40, MutexRecordDescriptor.KIND_OFFSET);
        assertEquals(44, MutexRecordDescriptor.OWNER_PID_OFFSET);
        assertEquals(48, MutexRecordDescriptor.OWNER_DIED_COUNT_OFFSET);
        assertEquals(56, MutexRecordDescriptor.PID_NAMESPACE_OFFSET);
        assertEquals(60, MutexRecordDescriptor.BOOT_STAMP_OFFSET);
        assertEquals(64, MutexRecordDescriptor.SIZE);
        assertEquals(64, MutexRecordDescriptor.ALIGNMENT);
    }

    /**
     * The condition record's fields sit at the documented offsets, its kind word where a mutex record has its
     * own, with a kind no mutex record has.
     */
    @Test
    void conditionRecordLayout() {
        assertEquals(0, ConditionRecordDescriptor.SEQUENCE_OFFSET);
        assertEquals(4, ConditionRecordDescriptor.WAITERS_OFFSET);
        assertEquals(MutexRecordDescriptor.KIND_OFFSET, ConditionRecordDescriptor.KIND_OFFSET);
        assertEquals(0x110, ConditionRecordDescriptor.KIND_WORD);
        assertEquals(64, ConditionRecordDescriptor.SIZE);
        assertEquals(64, ConditionRecordDescriptor.ALIGNMENT);
        assertEquals(null, MutexRecord.decodeKind(ConditionRecordDescriptor.KIND_WORD));
    }

    /** The robust list head is 24 bytes and our futex_offset is glibc's -32. */
    @Test
    void robustListHeadLayout() {
        assertEquals(0, RobustListHeadDescriptor.LIST_NEXT_OFFSET);
        assertEquals(8, RobustListHeadDescriptor.FUTEX_OFFSET_OFFSET);
        assertEquals(16, RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET);
        assertEquals(24, RobustListHeadDescriptor.SIZE);
        assertEquals(-32, RobustListHeadDescriptor.FUTEX_OFFSET);
        assertEquals(2048, RobustListHeadDescriptor.ROBUST_LIST_LIMIT);
    }

    /** The futex word bits and operation codes are the kernel's. */
    @Test
    void futexConstants() {
        assertEquals(0x80000000, FutexWord.WAITERS);
        assertEquals(0x40000000, FutexWord.OWNER_DIED);
        assertEquals(0x3fffffff, FutexWord.TID_MASK);
        assertEquals(0, FutexOp.FUTEX_WAIT);
        assertEquals(1, FutexOp.FUTEX_WAKE);
        assertEquals(6, FutexOp.FUTEX_LOCK_PI);
        assertEquals(7, FutexOp.FUTEX_UNLOCK_PI);
        assertEquals(8, FutexOp.FUTEX_TRYLOCK_PI);
        assertEquals(9, FutexOp.FUTEX_WAIT_BITSET);
        assertEquals(10, FutexOp.FUTEX_WAKE_BITSET);
        assertEquals(13, FutexOp.FUTEX_LOCK_PI2);
        assertEquals(128, FutexOp.FUTEX_PRIVATE_FLAG);
        assertEquals(256, FutexOp.FUTEX_CLOCK_REALTIME);
        assertEquals(512, FutexOp.FUTEX_ROBUST_UNLOCK);
        assertEquals(1024, FutexOp.FUTEX_ROBUST_LIST32);
        assertEquals("FUTEX_UNLOCK_PI|FUTEX_ROBUST_UNLOCK",
                FutexOp.name(FutexOp.FUTEX_UNLOCK_PI | FutexOp.FUTEX_ROBUST_UNLOCK));
        assertEquals("0xc0000007 (tid=7, WAITERS, OWNER_DIED)",
                FutexWord.describe(FutexWord.WAITERS | FutexWord.OWNER_DIED | 7));
    }

    /** Record offsets must be 64-aligned and the whole record must fit. */
    @Test
    void recordOffsetsAreChecked() {
        MutexRecordDescriptor.checkOffset(0, 64);
        MutexRecordDescriptor.checkOffset(64, 128);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MutexRecordDescriptor.checkOffset(32, 4096))
                .getMessage().contains("offset=32"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MutexRecordDescriptor.checkOffset(64, 64))
                .getMessage().contains("offset=64"));
        assertThrows(IllegalArgumentException.class, () -> MutexRecordDescriptor.checkOffset(-64, 4096));
    }

    /** Errno names cover the values the library handles. */
    @Test
    void errnoNames() {
        assertEquals("ENOSYS", Errno.name(Errno.ENOSYS));
        assertEquals("errno 999", Errno.name(999));
        assertEquals("futex(FUTEX_WAKE) failed: EINVAL (22)", Errno.exception("futex(FUTEX_WAKE)", 22).getMessage());
        assertEquals(5, Errno.check("x", 5));
        assertThrows(io.robustmutex.SyscallException.class, () -> Errno.check("x", -Errno.EPERM));
    }
}
