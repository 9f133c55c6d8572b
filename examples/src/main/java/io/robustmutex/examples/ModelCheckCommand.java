package io.robustmutex.examples;

import io.robustmutex.MutexKind;
import io.robustmutex.UnlockPath;
import io.robustmutex.internal.Architectures;
import io.robustmutex.model.ModelCheck;
import io.robustmutex.spi.Architecture;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

/**
 * {@code model-check}: kills a simulated thread before every step of lock and unlock on the reference model,
 * for every configuration, and prints one row per configuration. Exits 0 iff every configuration expected to
 * be safe is safe.
 *
 * <pre>
 * options (each takes a comma-separated subset; default: all)
 *   --arch x86_64,aarch64   --kind PI,NORMAL   --path vdso,syscall,classic
 *   --lifetime on,off       --fixup on,off     --findings (print what each unsafe row found)
 * </pre>
 */
final class ModelCheckCommand implements RobustMutexTool.Command {

    @Override
    public String summary() {
        return "run the exhaustive death-injection check on the reference model and print the table";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        List<Architecture> architectures = Architectures.all();
        Set<String> archs = null;
        Set<String> kinds = null;
        Set<String> paths = null;
        Set<String> lifetimes = null;
        Set<String> fixups = null;
        boolean findings = false;
        for (int i = 0; i < args.length; i++) {
            String option = args[i];
            if (option.equals("--findings")) {
                findings = true;
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("option " + option + " needs a value");
            }
            Set<String> values = Arrays.stream(args[++i].split(",")).map(v -> v.trim().toLowerCase(Locale.ROOT))
                    .collect(Collectors.toSet());
            switch (option) {
                case "--arch" -> archs = values;
                case "--kind" -> kinds = values;
                case "--path" -> paths = values;
                case "--lifetime" -> lifetimes = check(option, values, Set.of("on", "off"));
                case "--fixup" -> fixups = check(option, values, Set.of("on", "off"));
                default -> throw new IllegalArgumentException("unknown option " + option
                        + " (options: --arch --kind --path --lifetime --fixup --findings)");
            }
        }
        List<ModelCheck.Configuration> selected = new ArrayList<>();
        for (ModelCheck.Configuration c : ModelCheck.configurations(architectures)) {
            if ((archs == null || archs.contains(c.architecture().name()))
                    && (kinds == null || kinds.contains(c.kind().name().toLowerCase(Locale.ROOT)))
                    && (paths == null || paths.contains(c.unlockPath().id()))
                    && (lifetimes == null || lifetimes.contains(c.lifetimeRule() ? "on" : "off"))
                    && (fixups == null || c.unlockPath() != UnlockPath.VDSO
                            || fixups.contains(c.fixup() ? "on" : "off"))) {
                selected.add(c);
            }
        }
        if (selected.isEmpty()) {
            throw new IllegalArgumentException("no configuration matches the options (architectures available: "
                    + architectures.stream().map(Architecture::name).collect(Collectors.joining(",")) + "; kinds: "
                    + Arrays.toString(MutexKind.values()) + ")");
        }

        String format = "%-8s %-7s %-8s %-9s %-6s %10s %13s %11s %12s  %-9s %-8s%n";
        out.printf(format, "arch", "kind", "unlock", "lifetime", "fixup", "scenarios", "death-points",
                "violations", "corruptions", "expected", "result");
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Runtime.getRuntime().availableProcessors()));
        List<Future<ModelCheck.Result>> futures = new ArrayList<>();
        try {
            for (ModelCheck.Configuration c : selected) {
                futures.add(pool.submit(() -> ModelCheck.check(c)));
            }
            int unexpectedUnsafe = 0;
            int unexpectedSafe = 0;
            List<ModelCheck.Result> unsafe = new ArrayList<>();
            for (Future<ModelCheck.Result> future : futures) {
                ModelCheck.Result r = future.get();
                ModelCheck.Configuration c = r.configuration();
                out.printf(format, c.architecture().name(), c.kind(), c.unlockPath().id(),
                        c.lifetimeRule() ? "on" : "off", c.fixupLabel(), r.scenarios(), r.deathPoints(),
                        r.violations(), r.corruptions(), c.expectedSafe() ? "safe" : "unsafe",
                        r.safe() ? "safe" : "UNSAFE");
                if (!r.safe()) {
                    unsafe.add(r);
                }
                if (c.expectedSafe() && !r.safe()) {
                    unexpectedUnsafe++;
                } else if (!c.expectedSafe() && r.safe()) {
                    unexpectedSafe++;
                }
            }
            out.println();
            out.println("lifetime: unmapping follows the library's mapping-lifetime rule (design.md section 5);"
                    + " fixup: the kernel's vDSO return-to-user fixup runs (off: an arm64 kernel that does not"
                    + " record user_irq, or the sequence copied outside the vDSO).");
            out.println("A peer remaps the lock's memory with data holding the dead thread's TID: a corruption is"
                    + " a kernel write into that data.");
            if (findings) {
                for (ModelCheck.Result r : unsafe) {
                    out.println();
                    out.println(r.configuration() + ":");
                    r.findings().forEach(f -> out.println("  " + f));
                }
            }
            if (unexpectedSafe > 0) {
                out.println("note: " + unexpectedSafe + " configuration(s) expected to show the race did not;"
                        + " the model failed to reproduce it there");
            }
            if (unexpectedUnsafe > 0) {
                out.println("FAILED: " + unexpectedUnsafe + " configuration(s) expected to be safe are not"
                        + " (run with --findings)");
                return 1;
            }
            out.println("OK: every configuration expected to be safe is safe.");
            return 0;
        } finally {
            pool.shutdownNow();
        }
    }

    private static Set<String> check(String option, Set<String> values, Set<String> allowed) {
        for (String value : values) {
            if (!allowed.contains(value)) {
                throw new IllegalArgumentException(option + " " + value + " (expected " + allowed + ")");
            }
        }
        return values;
    }
}
