package io.robustmutex.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every document the repository cites exists in it: the README, docs/ and the Java sources (Javadoc, comments,
 * the command-line tool's messages) may only point at files that are there, at headings that are there, and
 * at numbered sections of kernel-abi.md and design.md that are there. Runs in {@code mvn verify}, so a
 * dangling reference fails the build.
 */
class DocumentReferencesTest {

    /** A Markdown link or image: {@code [text](target)}; the target ends at a space or the closing parenthesis. */
    private static final Pattern MARKDOWN_LINK = Pattern.compile("!?\\[[^\\]]*\\]\\(([^)\\s]+)(?:\\s+\"[^\"]*\")?\\)");
    /** A document named in running text: {@code name.md}, with or without a directory. */
    private static final Pattern MD_NAME = Pattern.compile("(?<![\\w./-])((?:[\\w.-]+/)*[\\w-]+\\.md)\\b");
    /** A path under docs/ named in running text. */
    private static final Pattern DOCS_PATH = Pattern.compile("(?<![\\w./-])(docs/[\\w./-]*[\\w-])");
    /** A citation of numbered sections: "kernel-abi.md section 4.2", "design.md sections 3 and 5", "... 1 to 4". */
    private static final Pattern SECTION_CITATION = Pattern.compile(
            "\\b(kernel-abi|design)\\.md(?:\\]\\([^)]*\\))?,?\\s+(?:(?:sections?|§)\\s*)?(\\d+(?:\\.\\d+)?)"
                    + "((?:\\s*(?:,|and|to)\\s*\\d+(?:\\.\\d+)?)*)");
    private static final Pattern NUMBER = Pattern.compile("\\d+(?:\\.\\d+)?");

    private static Path root;

    /** A reference found in a file, for the failure message. */
    private record Reference(Path from, String text, String problem) {
        @Override
        public String toString() {
            return root.relativize(from) + ": " + text + " (" + problem + ")";
        }
    }

    @BeforeAll
    static void findRoot() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !(Files.isRegularFile(dir.resolve("README.md")) && Files.isDirectory(dir.resolve("docs"))
                && Files.isRegularFile(dir.resolve("pom.xml")))) {
            dir = dir.getParent();
        }
        assertTrue(dir != null, "the repository root (README.md, docs/, pom.xml) above "
                + Path.of("").toAbsolutePath());
        root = dir;
    }

    /** README.md, docs/*.md and every other Markdown file of the repository. */
    private static List<Path> markdownFiles() {
        return files(".md");
    }

    /** Every Java source of the repository but this one, whose examples of dangling references are on purpose. */
    private static List<Path> javaFiles() {
        return files(".java").stream().filter(p -> !p.getFileName().toString().equals("DocumentReferencesTest.java"))
                .toList();
    }

    private static List<Path> files(String suffix) {
        try (Stream<Path> paths = Files.walk(root)) {
            return paths.filter(p -> p.getFileName().toString().endsWith(suffix))
                    .filter(p -> Files.isRegularFile(p))
                    .filter(p -> {
                        Path relative = root.relativize(p);
                        for (Path part : relative) {
                            String name = part.toString();
                            if (name.equals("target") || name.startsWith(".")) {
                                return false;
                            }
                        }
                        return true;
                    })
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Java text with comment continuations removed, so a citation broken across Javadoc lines reads whole. */
    private static String joinedJava(String source) {
        return source.replaceAll("\\s*\\n\\s*(?:\\*(?!/)|//)?\\s*", " ");
    }

    /** The files this check reads exist: it does not pass by reading nothing. */
    @Test
    void scansTheRepository() {
        List<Path> markdown = markdownFiles();
        assertTrue(markdown.contains(root.resolve("README.md")), markdown.toString());
        assertTrue(markdown.contains(root.resolve("docs/kernel-abi.md")), markdown.toString());
        assertTrue(markdown.contains(root.resolve("docs/design.md")), markdown.toString());
        assertTrue(javaFiles().size() > 100, "Java sources found: " + javaFiles().size());
        assertTrue(javaFiles().contains(root.resolve("core/src/main/java/io/robustmutex/UnlockPath.java")));
    }

    /** Every Markdown link to a local file names a file or directory that exists, and a heading that exists. */
    @Test
    void markdownLinksResolve() {
        List<Reference> dangling = new ArrayList<>();
        for (Path file : markdownFiles()) {
            Matcher link = MARKDOWN_LINK.matcher(read(file));
            while (link.find()) {
                String target = link.group(1);
                if (target.matches("^[a-z][a-z0-9+.-]*:.*")) {
                    continue;  // http:, https:, mailto: and the like are not files of the repository
                }
                int hash = target.indexOf('#');
                String path = hash < 0 ? target : target.substring(0, hash);
                String anchor = hash < 0 ? null : target.substring(hash + 1);
                Path resolved = path.isEmpty() ? file : file.getParent().resolve(path).normalize();
                if (!resolved.startsWith(root) || !Files.exists(resolved)) {
                    dangling.add(new Reference(file, target, "no such file"));
                } else if (anchor != null && resolved.toString().endsWith(".md")
                        && !anchors(read(resolved)).contains(anchor)) {
                    dangling.add(new Reference(file, target, "no heading #" + anchor + " in "
                            + root.relativize(resolved)));
                }
            }
        }
        assertEquals(List.of(), dangling, "dangling links");
    }

    /**
     * Every {@code name.md} or {@code docs/...} named in the README, in docs/ or in a Java source (Javadoc,
     * comments, messages) is a file of the repository: beside the citing file, under docs/, or at the root.
     */
    @Test
    void namedDocumentsExist() {
        List<Reference> dangling = new ArrayList<>();
        Set<String> checked = new TreeSet<>();
        for (Path file : union(markdownFiles(), javaFiles())) {
            String text = read(file);
            Matcher name = MD_NAME.matcher(text);
            while (name.find()) {
                String named = name.group(1);
                checked.add(named);
                if (!documentExists(file, named)) {
                    dangling.add(new Reference(file, named, "no such document beside it, under docs/ or at the root"));
                }
            }
            Matcher docs = DOCS_PATH.matcher(text);
            while (docs.find()) {
                String named = docs.group(1);
                checked.add(named);
                if (!Files.exists(root.resolve(named))) {
                    dangling.add(new Reference(file, named, "no such file in the repository"));
                }
            }
        }
        assertTrue(checked.contains("kernel-abi.md") && checked.contains("design.md"), "found: " + checked);
        assertEquals(List.of(), dangling, "documents named but not in the repository");
    }

    /** Every numbered section cited ("kernel-abi.md section 4.2", "design.md sections 3 and 5") has a heading. */
    @Test
    void citedSectionsExist() {
        Set<String> kernelAbi = sectionNumbers(read(root.resolve("docs/kernel-abi.md")));
        Set<String> design = sectionNumbers(read(root.resolve("docs/design.md")));
        assertTrue(kernelAbi.containsAll(List.of("1", "2", "3", "4", "4.1", "4.2", "4.3", "4.4", "5", "6")),
                kernelAbi.toString());
        List<Reference> dangling = new ArrayList<>();
        int citations = 0;
        for (Path file : union(markdownFiles(), javaFiles())) {
            String text = file.toString().endsWith(".java") ? joinedJava(read(file)) : read(file).replace('\n', ' ');
            Matcher citation = SECTION_CITATION.matcher(text);
            while (citation.find()) {
                citations++;
                Set<String> sections = citation.group(1).equals("kernel-abi") ? kernelAbi : design;
                Matcher number = NUMBER.matcher(citation.group(2) + " " + citation.group(3));
                while (number.find()) {
                    if (!sections.contains(number.group())) {
                        dangling.add(new Reference(file, citation.group(), "no section " + number.group() + " in docs/"
                                + citation.group(1) + ".md"));
                    }
                }
            }
        }
        assertTrue(citations > 50, "citations found: " + citations);
        assertEquals(List.of(), dangling, "citations of sections that do not exist");
    }

    /** The check itself: a dangling link, name or section is caught, a good one passes. */
    @Test
    void theCheckCatchesDanglingReferences() {
        Matcher link = MARKDOWN_LINK.matcher("see [the guide](docs/missing.md#part) and [site](https://example.org)");
        assertTrue(link.find());
        assertEquals("docs/missing.md#part", link.group(1));
        Matcher name = MD_NAME.matcher(" * See kernel-abi.md, section 4; and docs/design.md.");
        assertTrue(name.find());
        assertEquals("kernel-abi.md", name.group(1));
        assertTrue(name.find());
        assertEquals("docs/design.md", name.group(1));
        assertTrue(!documentExists(root.resolve("README.md"), "no-such-document.md"));
        assertTrue(documentExists(root.resolve("core/src/main/java/io/robustmutex/UnlockPath.java"), "kernel-abi.md"));
        Matcher citation = SECTION_CITATION.matcher(joinedJava(
                "/** As kernel-abi.md\n * sections 3 and\n * 4.3 say. */"));
        assertTrue(citation.find());
        assertEquals("3", citation.group(2));
        assertTrue(citation.group(3).contains("4.3"), citation.group(3));
        assertEquals(Set.of("1", "4.1"), sectionNumbers("# Title\n## 1. One\ntext\n### 4.1 `futex`\n#### not 7\n"));
        assertEquals(Set.of("what-you-keep-what-changes-what-you-lose", "a-separate-mutex-file-or-a-record-in-a-region",
                "owner-death-journal-or-invariant"), anchors("## What you keep, what changes, what you lose\n"
                + "### A separate mutex file, or a record in a region\n### Owner death: journal or invariant\n"));
    }

    private static boolean documentExists(Path citing, String named) {
        return Files.exists(citing.getParent().resolve(named)) || Files.exists(root.resolve("docs").resolve(named))
                || Files.exists(root.resolve(named));
    }

    /** The numbers of the headings "## 4. Title" and "### 4.1 Title". */
    private static Set<String> sectionNumbers(String markdown) {
        Set<String> numbers = new TreeSet<>();
        Matcher heading = Pattern.compile("(?m)^#{2,3}\\s+(\\d+(?:\\.\\d+)?)\\.?\\s").matcher(markdown);
        while (heading.find()) {
            numbers.add(heading.group(1));
        }
        return numbers;
    }

    /** The anchors GitHub gives the headings of a Markdown text. */
    private static Set<String> anchors(String markdown) {
        Set<String> anchors = new LinkedHashSet<>();
        boolean fenced = false;
        for (String line : markdown.split("\n")) {
            if (line.startsWith("```")) {
                fenced = !fenced;
            }
            if (!fenced && line.matches("^#{1,6}\\s+.*")) {
                String title = line.replaceFirst("^#{1,6}\\s+", "").trim().toLowerCase(Locale.ROOT);
                anchors.add(title.replaceAll("[^\\p{L}\\p{N} _-]", "").replace(' ', '-'));
            }
        }
        return anchors;
    }

    private static List<Path> union(List<Path> first, List<Path> second) {
        List<Path> all = new ArrayList<>(first);
        all.addAll(second);
        return all;
    }
}
