package io.robustmutex.examples;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * The library's {@code -Dio.robustmutex.*} system properties, and the rule for a bad value that
 * docs/configuration.md states: a bad value is reported as a warning that names the property, the value and
 * what is used instead, and the default is used; nothing stops working.
 *
 * <p>The tool applies the rule itself, before the library reads any property, so that every command behaves
 * the same whatever the library does with a bad value (docs/configuration.md lists where it still differs):
 * a bad value is reported on standard error and removed, so the library sees its default. The JVMs the tool
 * starts get the same properties ({@link #jvmOptions()}).
 */
final class LibraryProperties {

    /** The prefix of the library's properties. */
    static final String PREFIX = "io.robustmutex.";

    /** One property: its name, the values it accepts, and its default as documented. */
    record Property(String name, String expected, String defaultValue, Predicate<String> valid) {
    }

    /**
     * Every property the library reads (core's {@code UnlockPath.PROPERTY}, {@code MappedMemory.PROPERTY},
     * {@code NativeAccess.PROPERTY}, {@code LinuxKernel.ROBUST_LIST_PROPERTY}, {@code LinuxBackend.SLICE_PROPERTY}
     * and {@code RECHECK_PROPERTY}; a test
     * checks the names and defaults
     * against core's constants).
     */
    static final List<Property> PROPERTIES = List.of(
            new Property(PREFIX + "unlockPath", "classic, syscall or vdso",
                    "the strongest path the kernel offers", oneOf("classic", "syscall", "vdso")),
            new Property(PREFIX + "memoryAccess", "segment, unsafe or varhandle",
                    "segment on JDK 22+, else unsafe where it prints no warning, else varhandle",
                    oneOf("segment", "unsafe", "varhandle")),
            new Property(PREFIX + "nativeAccess", "ffm or jnr", "ffm on JDK 22+, else jnr", oneOf("ffm", "jnr")),
            new Property(PREFIX + "robustList", "join or own",
                    "join glibc's head where it can, else own", oneOf("join", "own")),
            new Property(PREFIX + "interruptSliceMillis", "a whole number of milliseconds, at least 1", "20",
                    LibraryProperties::positiveMillis),
            new Property(PREFIX + "recheckMillis", "a whole number of milliseconds, at least 1", "100",
                    LibraryProperties::positiveMillis));

    private LibraryProperties() {
    }

    /**
     * Checks every {@code io.robustmutex.*} system property of this JVM: a bad value of a known property is
     * reported and removed (so the library uses its default); an unknown property is reported and left
     * alone (the library ignores it).
     *
     * @param err where the warnings go
     * @return the warnings printed, one per bad or unknown property
     */
    static List<String> apply(PrintStream err) {
        List<String> warnings = new ArrayList<>();
        for (Map.Entry<String, String> entry : set().entrySet()) {
            String name = entry.getKey();
            String value = entry.getValue();
            Optional<Property> property = PROPERTIES.stream().filter(p -> p.name().equals(name)).findFirst();
            if (property.isEmpty()) {
                Optional<String> meant = PROPERTIES.stream().map(Property::name).filter(name::equalsIgnoreCase)
                        .findFirst();
                warnings.add("warning: -D" + name + " is not a property of the library and is ignored ("
                        + (meant.isPresent() ? "did you mean -D" + meant.get() + "?" : "known: "
                        + String.join(", ", PROPERTIES.stream().map(Property::name).toList())) + ")");
            } else if (!property.get().valid().test(value)) {
                System.clearProperty(name);
                warnings.add("warning: -D" + name + "=" + value + " is not " + property.get().expected()
                        + "; using the default (" + property.get().defaultValue() + ")");
            }
        }
        warnings.forEach(err::println);
        return warnings;
    }

    /**
     * The library's properties set in this JVM, by name.
     *
     * @return name to value, sorted by name
     */
    static Map<String, String> set() {
        Map<String, String> found = new TreeMap<>();
        for (String name : System.getProperties().stringPropertyNames()) {
            if (name.startsWith(PREFIX)) {
                found.put(name, System.getProperty(name));
            }
        }
        return found;
    }

    /**
     * The JVM options that give a child JVM this JVM's library properties.
     *
     * @return one {@code -Dname=value} per property set
     */
    static List<String> jvmOptions() {
        return set().entrySet().stream().map(e -> "-D" + e.getKey() + "=" + e.getValue()).toList();
    }

    private static Predicate<String> oneOf(String... accepted) {
        List<String> values = List.of(accepted);
        return value -> values.contains(value.trim().toLowerCase(Locale.ROOT));
    }

    /** What the library accepts for a duration ({@link Long#getLong} decodes with {@link Long#decode}), above 0. */
    private static boolean positiveMillis(String value) {
        try {
            return Long.decode(value) > 0;
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
