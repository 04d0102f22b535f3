// Package transcribe turns 16 kHz mono audio into text on this server with
// whisper.cpp. It holds the model catalogue (names, sizes, pinned checksums),
// downloading and importing model files, a validator for the ggml model format
// that never calls into C, a generator of random-weight test models, the
// whisper.cpp engine itself and the `dictum model` / `dictum transcribe`
// command-line functions.
package transcribe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DefaultModel is the catalogue name used when transcribe.model is empty.
const DefaultModel = "base.en"

// DefaultBaseURL is where `dictum model pull` fetches ggml files from unless a
// mirror is configured. The file name (ggml-<name>.bin) is appended.
const DefaultBaseURL = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main"

// ErrModelMissing means the configured model is valid but its file is not on
// disk (not pulled or imported yet). The server keeps jobs queued on it.
var ErrModelMissing = errors.New("whisper model file is missing")

// ErrUnknownModel means a name is neither in the catalogue nor a model file.
var ErrUnknownModel = errors.New("unknown whisper model")

// ErrChecksum means a file's bytes are not the pinned catalogue file.
var ErrChecksum = errors.New("model checksum mismatch")

// Model is one entry of the catalogue.
//
// Checksums: upstream whisper.cpp (models/README.md and the Hugging Face model
// card) publishes SHA-1 for every file; that is SHA1. SHA256 is the Git LFS
// object id of the same file on Hugging Face, copied from public catalogues
// that pin it (see the report in the package history); both are checked when
// present, so a single wrong digest can only cause a clear refusal, never a
// silent acceptance.
type Model struct {
	Name         string // catalogue name, e.g. "base.en" or "base.en-q5_1"
	Size         int64  // exact size in bytes
	SHA1         string // upstream-published SHA-1 (hex)
	SHA256       string // Hugging Face LFS SHA-256 (hex)
	Params       string // architecture: "tiny", "base", "small", "medium", "large-v3-turbo"
	English      bool   // English-only (.en) model
	Quantization string // "" (f16), "q5_0", "q5_1" or "q8_0"
}

// File is the file name of the model in the models directory and on the mirror.
func (m Model) File() string { return "ggml-" + m.Name + ".bin" }

// catalogue: sizes and digests of the files published in ggerganov/whisper.cpp.
var catalogue = []Model{
	{"tiny.en", 77704715, "c78c86eb1a8faa21b369bcd33207cc90d64ae9df", "921e4cf8686fdd993dcd081a5da5b6c365bfde1162e72b08d75ac75289920b1f", "tiny", true, ""},
	{"tiny.en-q5_1", 32166155, "3fb92ec865cbbc769f08137f22470d6b66e071b6", "c77c5766f1cef09b6b7d47f21b546cbddd4157886b3b5d6d4f709e91e66c7c2b", "tiny", true, "q5_1"},
	{"tiny.en-q8_0", 43550795, "802d6668e7d411123e672abe4cb6c18f12306abb", "5bc2b3860aa151a4c6e7bb095e1fcce7cf12c7b020ca08dcec0c6d018bb7dd94", "tiny", true, "q8_0"},
	{"tiny", 77691713, "bd577a113a864445d4c299885e0cb97d4ba92b5f", "be07e048e1e599ad46341c8d2a135645097a538221678b7acdd1b1919c6e1b21", "tiny", false, ""},
	{"tiny-q5_1", 32152673, "2827a03e495b1ed3048ef28a6a4620537db4ee51", "818710568da3ca15689e31a743197b520007872ff9576237bda97bd1b469c3d7", "tiny", false, "q5_1"},
	{"tiny-q8_0", 43537433, "19e8118f6652a650569f5a949d962154e01571d9", "c2085835d3f50733e2ff6e4b41ae8a2b8d8110461e18821b09a15c40c42d1cca", "tiny", false, "q8_0"},
	{"base.en", 147964211, "137c40403d78fd54d454da0f9bd998f78703390c", "a03779c86df3323075f5e796cb2ce5029f00ec8869eee3fdfb897afe36c6d002", "base", true, ""},
	{"base.en-q5_1", 59721011, "d26d7ce5a1b6e57bea5d0431b9c20ae49423c94a", "4baf70dd0d7c4247ba2b81fafd9c01005ac77c2f9ef064e00dcf195d0e2fdd2f", "base", true, "q5_1"},
	{"base.en-q8_0", 81781811, "bb1574182e9b924452bf0cd1510ac034d323e948", "a4d4a0768075e13cfd7e19df3ae2dbc4a68d37d36a7dad45e8410c9a34f8c87e", "base", true, "q8_0"},
	{"base", 147951465, "465707469ff3a37a2b9b8d8f89f2f99de7299dac", "60ed5bc3dd14eea856493d334349b405782ddcaf0028d4b5df4088345fba2efe", "base", false, ""},
	{"base-q5_1", 59707625, "a3733eda680ef76256db5fc5dd9de8629e62c5e7", "422f1ae452ade6f30a004d7e5c6a43195e4433bc370bf23fac9cc591f01a8898", "base", false, "q5_1"},
	{"base-q8_0", 81768585, "7bb89bb49ed6955013b166f1b6a6c04584a20fbe", "c577b9a86e7e048a0b7eada054f4dd79a56bbfa911fbdacf900ac5b567cbb7d9", "base", false, "q8_0"},
	{"small.en", 487614201, "db8a495a91d927739e50b3fc1cc4c6b8f6c2d022", "c6138d6d58ecc8322097e0f987c32f1be8bb0a18532a3f88f734d1bbf9c41e5d", "small", true, ""},
	{"small.en-q5_1", 190098681, "20f54878d608f94e4a8ee3ae56016571d47cba34", "bfdff4894dcb76bbf647d56263ea2a96645423f1669176f4844a1bf8e478ad30", "small", true, "q5_1"},
	{"small.en-q8_0", 264477561, "9d75ff4ccfa0a8217870d7405cf8cef0a5579852", "67a179f608ea6114bd3fdb9060e762b588a3fb3bd00c4387971be4d177958067", "small", true, "q8_0"},
	{"small", 487601967, "55356645c2b361a969dfd0ef2c5a50d530afd8d5", "1be3a9b2063867b937e64e2ec7483364a79917e157fa98c5d94b5c1fffea987b", "small", false, ""},
	{"small-q5_1", 190085487, "6fe57ddcfdd1c6b07cdcc73aaf620810ce5fc771", "ae85e4a935d7a567bd102fe55afc16bb595bdb618e11b2fc7591bc08120411bb", "small", false, "q5_1"},
	{"small-q8_0", 264464607, "bcad8a2083f4e53d648d586b7dbc0cd673d8afad", "49c8fb02b65e6049d5fa6c04f81f53b867b5ec9540406812c643f177317f779f", "small", false, "q8_0"},
	{"medium.en", 1533774781, "8c30f0e44ce9560643ebd10bbe50cd20eafd3723", "cc37e93478338ec7700281a7ac30a10128929eb8f427dda2e865faa8f6da4356", "medium", true, ""},
	{"medium.en-q5_0", 539225533, "bb3b5281bddd61605d6fc76bc5b92d8f20284c3b", "76733e26ad8fe1c7a5bf7531a9d41917b2adc0f20f2e4f5531688a8c6cd88eb0", "medium", true, "q5_0"},
	{"medium.en-q8_0", 823382461, "b1cf48c12c807e14881f634fb7b6c6ca867f6b38", "43fa2cd084de5a04399a896a9a7a786064e221365c01700cea4666005218f11c", "medium", true, "q8_0"},
	{"medium", 1533763059, "fd9727b6e1217c2f614f9b698455c4ffd82463b4", "6c14d5adee5f86394037b4e4e8b59f1673b6cee10e3cf0b11bbdbee79c156208", "medium", false, ""},
	{"medium-q5_0", 539212467, "7718d4c1ec62ca96998f058114db98236937490e", "19fea4b380c3a618ec4723c3eef2eb785ffba0d0538cf43f8f235e7b3b34220f", "medium", false, "q5_0"},
	{"medium-q8_0", 823369779, "e66645948aff4bebbec71b3485c576f3d63af5d6", "42a1ffcbe4167d224232443396968db4d02d4e8e87e213d3ee2e03095dea6502", "medium", false, "q8_0"},
	{"large-v3-turbo", 1624555275, "4af2b29d7ec73d781377bfd1758ca957a807e941", "1fc70f774d38eb169993ac391eea357ef47c88757ef72ee5943879b7e8e2bc69", "large-v3-turbo", false, ""},
	{"large-v3-turbo-q5_0", 574041195, "e050f7970618a659205450ad97eb95a18d69c9ee", "394221709cd5ad1f40c46e6031ca61bce88931e6e088c188294c6d5a55ffa7e2", "large-v3-turbo", false, "q5_0"},
	{"large-v3-turbo-q8_0", 874188075, "01bf15bedffe9f39d65c1b6ff9b687ea91f59e0e", "317eb69c11673c9de1e1f0d459b253999804ec71ac4c23c17ecf5fbe24e259a1", "large-v3-turbo", false, "q8_0"},
}

// Catalogue returns a copy of the model catalogue in display order.
func Catalogue() []Model {
	out := make([]Model, len(catalogue))
	copy(out, catalogue)
	return out
}

// Lookup finds a catalogue entry by name. "ggml-NAME.bin" is accepted too.
func Lookup(name string) (Model, bool) {
	name = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(name), "ggml-"), ".bin")
	for _, m := range catalogue {
		if m.Name == name {
			return m, true
		}
	}
	return Model{}, false
}

// catalogueByFile finds the entry whose file name is base (e.g. "ggml-base.en.bin").
func catalogueByFile(base string) (Model, bool) {
	for _, m := range catalogue {
		if m.File() == base {
			return m, true
		}
	}
	return Model{}, false
}

// catalogueBySize lists entries with exactly this file size.
func catalogueBySize(size int64) []Model {
	var out []Model
	for _, m := range catalogue {
		if m.Size == size {
			out = append(out, m)
		}
	}
	return out
}

// catalogueNames lists the names, sorted, for error messages.
func catalogueNames() string {
	names := make([]string, 0, len(catalogue))
	for _, m := range catalogue {
		names = append(names, m.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// isPathLike reports whether a transcribe.model value names a file rather than
// a catalogue entry.
func isPathLike(v string) bool {
	return strings.ContainsRune(v, '/') || strings.ContainsRune(v, filepath.Separator) || strings.HasSuffix(v, ".bin")
}

// Resolve turns the configured transcribe.model value into a model file path.
//
//   - "" means DefaultModel.
//   - A catalogue name ("base.en") resolves to <modelsDir>/ggml-base.en.bin.
//   - A value containing a path separator or ending in ".bin" is a file path
//     (relative paths are taken from the working directory).
//   - Another bare name resolves to <modelsDir>/ggml-NAME.bin or
//     <modelsDir>/NAME.bin if that file exists (a custom model that was
//     imported under that name).
//
// If the value is valid but the file is not there, the error wraps
// ErrModelMissing; a name that is neither known nor present wraps
// ErrUnknownModel. Resolve does not read the file: use Verify for that.
func Resolve(value, modelsDir string) (string, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		v = DefaultModel
	}
	if isPathLike(v) {
		p, err := filepath.Abs(v)
		if err != nil {
			return "", fmt.Errorf("resolve model path %q: %w", v, err)
		}
		return p, checkModelFile(p, v)
	}
	if m, ok := Lookup(v); ok {
		if modelsDir == "" {
			return "", fmt.Errorf("resolve model %q: no models directory configured", v)
		}
		p := filepath.Join(modelsDir, m.File())
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			return p, fmt.Errorf("%w: %s is not installed at %s (run `dictum model pull %s`, or `dictum model import FILE` on an air-gapped server)",
				ErrModelMissing, m.Name, p, m.Name)
		}
		return p, checkModelFile(p, v)
	}
	if modelsDir != "" && !strings.ContainsAny(v, `\:*?"<>|`) && !strings.HasPrefix(v, ".") {
		for _, f := range []string{"ggml-" + v + ".bin", v + ".bin"} {
			p := filepath.Join(modelsDir, f)
			if _, err := os.Stat(p); err == nil {
				return p, checkModelFile(p, v)
			}
		}
	}
	return "", fmt.Errorf("%w %q: not a catalogue name (%s), nor a file in %s, nor a path to a .bin file",
		ErrUnknownModel, v, catalogueNames(), modelsDir)
}

func checkModelFile(p, value string) error {
	st, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s (from transcribe.model %q)", ErrModelMissing, p, value)
	}
	if err != nil {
		return fmt.Errorf("model %q: %w", value, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("model %q: %s is not a regular file", value, p)
	}
	return nil
}
