import io.robustmutex.spi.Architecture;
import io.robustmutex.spi.Instruction;
import io.robustmutex.spi.PendingSlotWidth;
import io.robustmutex.spi.UnlockCriticalSection;
import io.robustmutex.spi.VdsoRobustUnlockSymbols;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * Prints what an architecture module tells the reference model about its vDSO try-unlock, for
 * kernels/vdso-check.sh to compare with the real vDSO. Run with the core and architecture jars on the class
 * path: {@code java -cp CORE:NATIVE kernels/model/CriticalSectionListing.java x86_64}.
 *
 * <p>Output, one line each:
 * <pre>
 * symbols LIST64 LIST32 VERSION            (or "symbols none")
 * section WIDTH STATUS SYMBOL
 * instruction WIDTH INDEX KIND ASSEMBLY     (KIND: the Instruction record's name)
 * label WIDTH NAME INDEX
 * </pre>
 */
public final class CriticalSectionListing {

    private CriticalSectionListing() {
    }

    public static void main(String[] args) {
        String name = args.length > 0 ? args[0] : System.getProperty("os.arch");
        Architecture architecture = null;
        for (Architecture candidate : ServiceLoader.load(Architecture.class)) {
            if (candidate.name().equals(name)) {
                architecture = candidate;
            }
        }
        if (architecture == null) {
            System.err.println("no architecture module named " + name + " on the class path");
            System.exit(2);
        }
        Optional<VdsoRobustUnlockSymbols> symbols = architecture.vdsoRobustUnlockSymbols();
        System.out.println(symbols.map(s -> "symbols " + s.list64() + " " + s.list32() + " " + s.version())
                .orElse("symbols none"));
        for (PendingSlotWidth width : PendingSlotWidth.values()) {
            UnlockCriticalSection section = architecture.unlockCriticalSection(width);
            String bits = width == PendingSlotWidth.BITS_64 ? "64" : "32";
            System.out.println("section " + bits + " " + section.status() + " "
                    + symbols.map(s -> s.symbol(width)).orElse("-"));
            for (int i = 0; i < section.instructions().size(); i++) {
                Instruction instruction = section.instructions().get(i);
                System.out.println("instruction " + bits + " " + i + " " + instruction.getClass().getSimpleName()
                        + " " + instruction.assembly());
            }
            for (Map.Entry<String, Integer> label : section.labels().entrySet()) {
                System.out.println("label " + bits + " " + label.getKey() + " " + label.getValue());
            }
        }
    }
}
