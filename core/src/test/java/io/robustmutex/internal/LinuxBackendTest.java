package io.robustmutex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The duration properties follow the rule for bad values: reported, and the default used. */
class LinuxBackendTest {

    @Test
    void aGoodValueIsUsed() {
        assertEquals(250, LinuxBackend.millis("p", "250", 100));
        assertEquals(16, LinuxBackend.millis("p", " 0x10 ", 100));
        assertEquals(100, LinuxBackend.millis("p", null, 100));
    }

    @Test
    void aBadValueGivesTheDefault() {
        assertEquals(100, LinuxBackend.millis("p", "0", 100));
        assertEquals(100, LinuxBackend.millis("p", "-5", 100));
        assertEquals(100, LinuxBackend.millis("p", "fast", 100));
        assertEquals(100, LinuxBackend.millis("p", "", 100));
        assertEquals(100, LinuxBackend.millis("p", "99999999999999999999", 100));
    }
}
