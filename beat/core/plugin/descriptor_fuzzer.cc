// Fuzzes the checks a plugin's descriptor and function table pass before
// any plugin function is called: sizes, ABI numbers, kinds, missing
// functions, names and schemes, all from the input. Never a crash.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "beat/core/plugin/plugin_abi.h"
#include "beat/core/plugin/registry.h"

namespace {

// A function of the right shape for any table slot (never called).
void Dummy() {}

// Reads bytes off the input, zeros once it runs out.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint32_t U32() {
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) value = (value << 8) | Byte();
    return value;
  }
  uint8_t Byte() { return at_ < size_ ? data_[at_++] : 0; }
  std::string String() {
    std::string out;
    for (uint8_t n = Byte() % 16; n > 0; --n) out.push_back(char(Byte()));
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input input(data, size);
  // A table big enough for any kind, its slots set or NULL from the input.
  union {
    stem_store_table store;
    stem_lock_table lock;
    stem_broker_table broker;
    void* slots[32];
  } table;
  std::memset(&table, 0, sizeof(table));
  const uint32_t bits = input.U32();
  for (int i = 1; i < 32; ++i) {
    if (bits & (1u << i)) table.slots[i] = reinterpret_cast<void*>(&Dummy);
  }
  table.store.size = input.U32() % 512;
  const std::string name = input.String();
  std::vector<std::string> names;
  for (uint8_t n = input.Byte() % 4; n > 0; --n)
    names.push_back(input.String());
  std::vector<const char*> schemes;
  for (const std::string& s : names) schemes.push_back(s.c_str());
  schemes.push_back(nullptr);
  stem_plugin_descriptor descriptor;
  descriptor.size = input.U32() % 256;
  descriptor.abi_major = input.Byte() % 3;
  descriptor.abi_minor = input.Byte() % 4;
  descriptor.kind = static_cast<int32_t>(input.Byte() % 5);
  const uint8_t nulls = input.Byte();
  descriptor.name = (nulls & 1) ? nullptr : name.c_str();
  descriptor.version = (nulls & 2) ? nullptr : "1.0";
  descriptor.schemes = (nulls & 4) ? nullptr : schemes.data();
  descriptor.table = (nulls & 8) ? nullptr : &table;
  (void)stem::beat::plugin::CheckDescriptorForFuzzing(
      (nulls & 16) ? nullptr : &descriptor, "fuzz.so");
  return 0;
}
