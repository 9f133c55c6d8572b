/**
 * The architecture plug-in: everything that differs between the 64-bit Linux architectures the library
 * supports.
 *
 * <p>Core knows no syscall number, no vDSO symbol and no machine instruction. An architecture module
 * (robust-mutex-native-x86_64, robust-mutex-native-aarch64) implements {@link io.robustmutex.spi.Architecture}
 * and registers it in {@code META-INF/services/io.robustmutex.spi.Architecture}. Core normalizes
 * {@code os.arch} once ({@code amd64}/{@code x86_64} become {@code x86_64}, {@code aarch64}/{@code arm64}
 * become {@code aarch64}) and takes the one provider whose {@link io.robustmutex.spi.Architecture#name()}
 * matches; none or more than one is an error that names the architecture and the providers found.
 *
 * <p>The vDSO critical section is described as data ({@link io.robustmutex.spi.UnlockCriticalSection}): a
 * short instruction list in a tiny register-level instruction set ({@link io.robustmutex.spi.Instruction}),
 * the labels {@code cs_start}, {@code cs_success} and {@code cs_end}, and the rule
 * ({@link io.robustmutex.spi.FixupRule}) by which the kernel decides, from the registers saved at an
 * interrupt, whether the compare-and-swap succeeded and where the pending slot is. The reference model in
 * core executes this description instruction by instruction (kernel-abi.md sections 4.2 and 4.3).
 */
package io.robustmutex.spi;
