#include "exporter/checkpoint/pickle_reader.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "common/error.h"

namespace pte {

namespace {

using Kind = PickleValue::Kind;

// Generous for any state dict (a few values per tensor), small enough to bound memory.
constexpr size_t kMaxValues = size_t{1} << 22;
constexpr size_t kMaxContainerItems = size_t{1} << 24;
constexpr size_t kMaxStack = size_t{1} << 20;
constexpr size_t kMaxMarkDepth = 1000;
constexpr size_t kMaxMemo = size_t{1} << 22;
constexpr size_t kMaxGlobalLine = 256;
constexpr size_t kMaxTensorRank = 64;

// The only callables a state dict needs.
enum class Callable {
  None,
  OrderedDict,
  RebuildTensor,
  RebuildParameter,
  RebuildParameterWithState
};

Callable callable_of(std::string_view global) {
  if (global == "collections.OrderedDict") return Callable::OrderedDict;
  if (global == "torch._utils._rebuild_tensor_v2") return Callable::RebuildTensor;
  if (global == "torch._utils._rebuild_parameter") return Callable::RebuildParameter;
  if (global == "torch._utils._rebuild_parameter_with_state")
    return Callable::RebuildParameterWithState;
  return Callable::None;
}

bool is_allowed_global(std::string_view global) {
  if (callable_of(global) != Callable::None) return true;
  if (global.substr(0, 6) != "torch.") return false;
  const std::string_view name = global.substr(6);
  return scalar_type_by_storage_class(name) || scalar_type_by_dtype_name(name);
}

// Names of the opcodes that exist but are refused, for clearer messages.
const char* refused_opcode_name(uint8_t op) {
  switch (op) {
    case 'I':
      return "INT";
    case 'L':
      return "LONG";
    case 'F':
      return "FLOAT";
    case 'S':
      return "STRING";
    case 'T':
      return "BINSTRING";
    case 'U':
      return "SHORT_BINSTRING";
    case 'V':
      return "UNICODE";
    case 'P':
      return "PERSID";
    case 'p':
      return "PUT";
    case 'g':
      return "GET";
    case 'i':
      return "INST";
    case 'o':
      return "OBJ";
    case 0x82:
      return "EXT1";
    case 0x83:
      return "EXT2";
    case 0x84:
      return "EXT4";
    case 0x8f:
      return "EMPTY_SET";
    case 0x90:
      return "ADDITEMS";
    case 0x91:
      return "FROZENSET";
    case 0x92:
      return "NEWOBJ_EX";
    case 0x96:
      return "BYTEARRAY8";
    case 0x97:
      return "NEXT_BUFFER";
    case 0x98:
      return "READONLY_BUFFER";
    default:
      return nullptr;
  }
}

std::string hex_byte(uint8_t b) {
  static const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

uint64_t read_le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) v = v << 8 | p[i];
  return v;
}

}  // namespace

class PickleReader {
 public:
  PickleReader(const uint8_t* data, size_t size, const std::string& where, PersistentIds ids)
      : data_(data), size_(size), where_(where), persistent_ids_(ids) {}

  PickleDocument read() {
    while (true) {
      if (pos_ >= size_) fail("truncated: the pickle ends without a STOP opcode");
      op_pos_ = pos_;
      const uint8_t op = data_[pos_++];
      if (op == '.') return finish();
      step(op);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(where_ + ": " + what + " (at byte " + std::to_string(op_pos_) + ")");
  }

  void step(uint8_t op) {
    switch (op) {
      case 0x80: {  // PROTO
        const uint8_t version = bytes(1)[0];
        if (version > 5) fail("pickle protocol " + std::to_string(version) + " is not supported");
        return;
      }
      case 0x95: {  // FRAME: only a length hint
        const uint64_t n = read_le(bytes(8), 8);
        if (n > size_ - pos_) fail("FRAME of " + std::to_string(n) + " bytes runs past the end");
        return;
      }
      case '(':  // MARK
        if (marks_.size() >= kMaxMarkDepth)
          fail("nesting deeper than " + std::to_string(kMaxMarkDepth) + " MARKs");
        marks_.push_back(stack_.size());
        return;
      case '0':  // POP
        if (stack_.size() > floor())
          stack_.pop_back();
        else
          pop_mark();
        return;
      case '1':  // POP_MARK
        pop_mark();
        return;
      case '2':  // DUP
        push(top());
        return;
      case 'N':  // NONE
        push(make(Kind::None));
        return;
      case 0x88:  // NEWTRUE
        push(make_bool(true));
        return;
      case 0x89:  // NEWFALSE
        push(make_bool(false));
        return;
      case 'J':  // BININT
        push(make_int(static_cast<int32_t>(read_le(bytes(4), 4))));
        return;
      case 'K':  // BININT1
        push(make_int(bytes(1)[0]));
        return;
      case 'M':  // BININT2
        push(make_int(static_cast<int64_t>(read_le(bytes(2), 2))));
        return;
      case 0x8a:  // LONG1
        push(make_long(bytes(1)[0]));
        return;
      case 0x8b: {  // LONG4
        const int32_t n = static_cast<int32_t>(read_le(bytes(4), 4));
        if (n < 0) fail("LONG4 with negative length");
        push(make_long(static_cast<uint64_t>(n)));
        return;
      }
      case 'G': {  // BINFLOAT, big-endian
        const uint8_t* p = bytes(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = bits << 8 | p[i];
        PickleValue* v = make(Kind::Float);
        std::memcpy(&v->real, &bits, 8);
        push(v);
        return;
      }
      case 'X':  // BINUNICODE
        push(make_text(Kind::String, read_le(bytes(4), 4)));
        return;
      case 0x8c:  // SHORT_BINUNICODE
        push(make_text(Kind::String, bytes(1)[0]));
        return;
      case 0x8d:  // BINUNICODE8
        push(make_text(Kind::String, read_le(bytes(8), 8)));
        return;
      case 'B':  // BINBYTES
        push(make_text(Kind::Bytes, read_le(bytes(4), 4)));
        return;
      case 'C':  // SHORT_BINBYTES
        push(make_text(Kind::Bytes, bytes(1)[0]));
        return;
      case 0x8e:  // BINBYTES8
        push(make_text(Kind::Bytes, read_le(bytes(8), 8)));
        return;
      case ']':  // EMPTY_LIST
        push(make(Kind::List));
        return;
      case ')':  // EMPTY_TUPLE
        push(make(Kind::Tuple));
        return;
      case '}':  // EMPTY_DICT
        push(make(Kind::Dict));
        return;
      case 'l':  // LIST
        push(make_container(Kind::List, pop_mark()));
        return;
      case 't':  // TUPLE
        push(make_container(Kind::Tuple, pop_mark()));
        return;
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1, TUPLE2, TUPLE3
        const size_t n = op - 0x84u;
        if (stack_.size() < floor() + n) fail("stack underflow in TUPLE" + std::to_string(n));
        std::vector<PickleValue*> items(stack_.end() - static_cast<ptrdiff_t>(n), stack_.end());
        stack_.resize(stack_.size() - n);
        push(make_container(Kind::Tuple, std::move(items)));
        return;
      }
      case 'd': {  // DICT
        std::vector<PickleValue*> items = pop_mark();
        if (items.size() % 2) fail("DICT with an odd number of items");
        push(make_container(Kind::Dict, std::move(items)));
        return;
      }
      case 'a': {  // APPEND
        PickleValue* v = pop();
        add_items(Kind::List, "APPEND", {v});
        return;
      }
      case 'e':  // APPENDS
        add_items(Kind::List, "APPENDS", pop_mark());
        return;
      case 's': {  // SETITEM
        PickleValue* v = pop();
        PickleValue* k = pop();
        add_items(Kind::Dict, "SETITEM", {k, v});
        return;
      }
      case 'u': {  // SETITEMS
        std::vector<PickleValue*> items = pop_mark();
        if (items.size() % 2) fail("SETITEMS with an odd number of items");
        add_items(Kind::Dict, "SETITEMS", std::move(items));
        return;
      }
      case 'q':  // BINPUT
        memo_put(bytes(1)[0]);
        return;
      case 'r':  // LONG_BINPUT
        memo_put(static_cast<uint32_t>(read_le(bytes(4), 4)));
        return;
      case 0x94:  // MEMOIZE
        memo_put(static_cast<uint64_t>(memo_.size()));
        return;
      case 'h':  // BINGET
        push(memo_get(bytes(1)[0]));
        return;
      case 'j':  // LONG_BINGET
        push(memo_get(static_cast<uint32_t>(read_le(bytes(4), 4))));
        return;
      case 'c': {  // GLOBAL
        std::string module = line();
        std::string name = line();
        push(make_global(module, name));
        return;
      }
      case 0x93: {  // STACK_GLOBAL
        PickleValue* name = pop();
        PickleValue* module = pop();
        if (!module->is_string() || !name->is_string()) fail("STACK_GLOBAL needs two strings");
        push(make_global(module->text, name->text));
        return;
      }
      case 'R': {  // REDUCE
        PickleValue* args = pop();
        PickleValue* callable = pop();
        push(call(callable, args));
        return;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
        PickleValue* args = pop();
        PickleValue* cls = pop();
        if (cls->kind != Kind::Global || callable_of(cls->text) != Callable::OrderedDict)
          fail("NEWOBJ of " + describe(cls) + " is not allowed");
        push(call(cls, args));
        return;
      }
      case 'b': {  // BUILD: an OrderedDict's attributes (state_dict()._metadata) are ignored
        PickleValue* state = pop();
        PickleValue* object = top();
        if (object->kind != Kind::Dict || (state->kind != Kind::Dict && state->kind != Kind::None))
          fail("BUILD of " + describe(object) + " with " + describe(state) + " is not allowed");
        return;
      }
      case 'Q':  // BINPERSID
        push(persistent_load(pop()));
        return;
      default: {
        if (const char* name = refused_opcode_name(op))
          fail(std::string("opcode ") + name + " (" + hex_byte(op) +
               ") is not allowed (only tensor state dicts are read)");
        fail("unknown opcode " + hex_byte(op));
      }
    }
  }

  PickleDocument finish() {
    if (!marks_.empty()) fail("STOP inside an unclosed MARK");
    if (stack_.size() != 1)
      fail("STOP with " + std::to_string(stack_.size()) + " values on the stack, expected 1");
    doc_.root_ = stack_[0];
    doc_.size_ = pos_;
    return std::move(doc_);
  }

  // --- input ---

  const uint8_t* bytes(uint64_t n) {
    if (n > size_ - pos_)
      fail("truncated: opcode " + hex_byte(data_[op_pos_]) + " needs " + std::to_string(n) +
           " more bytes, " + std::to_string(size_ - pos_) + " left");
    const uint8_t* p = data_ + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }

  std::string line() {
    const size_t limit = std::min(size_ - pos_, kMaxGlobalLine + 1);
    const void* nl = std::memchr(data_ + pos_, '\n', limit);
    if (!nl)
      fail("GLOBAL name is not a line of at most " + std::to_string(kMaxGlobalLine) + " bytes");
    const size_t n = static_cast<size_t>(static_cast<const uint8_t*>(nl) - (data_ + pos_));
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n + 1;
    return s;
  }

  // --- stack ---

  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }

  void push(PickleValue* v) {
    if (stack_.size() >= kMaxStack)
      fail("stack deeper than " + std::to_string(kMaxStack) + " values");
    stack_.push_back(v);
  }

  PickleValue* pop() {
    if (stack_.size() <= floor()) fail("stack underflow");
    PickleValue* v = stack_.back();
    stack_.pop_back();
    return v;
  }

  PickleValue* top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }

  std::vector<PickleValue*> pop_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    const size_t base = marks_.back();
    marks_.pop_back();
    std::vector<PickleValue*> items(stack_.begin() + static_cast<ptrdiff_t>(base), stack_.end());
    stack_.resize(base);
    return items;
  }

  void memo_put(uint64_t index) {
    if (memo_.size() >= kMaxMemo && !memo_.count(index))
      fail("memo larger than " + std::to_string(kMaxMemo) + " entries");
    memo_[index] = top();
  }

  PickleValue* memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end())
      fail("memo entry " + std::to_string(index) + " is read before it is set");
    return it->second;
  }

  // --- values ---

  PickleValue* make(Kind kind) {
    if (doc_.arena_.size() >= kMaxValues)
      fail("more than " + std::to_string(kMaxValues) + " values");
    PickleValue& v = doc_.arena_.emplace_back();
    v.kind = kind;
    return &v;
  }

  PickleValue* make_bool(bool b) {
    PickleValue* v = make(Kind::Bool);
    v->boolean = b;
    return v;
  }

  PickleValue* make_int(int64_t i) {
    PickleValue* v = make(Kind::Int);
    v->integer = i;
    return v;
  }

  // LONG1/LONG4: little-endian two's complement of n bytes.
  PickleValue* make_long(uint64_t n) {
    const uint8_t* p = bytes(n);
    const bool negative = n > 0 && (p[n - 1] & 0x80);
    bool fits = true;
    for (uint64_t i = 8; i < n; ++i) fits = fits && p[i] == (negative ? 0xff : 0x00);
    if (n > 8) fits = fits && ((p[7] & 0x80) != 0) == negative;
    if (!fits) {
      PickleValue* v = make(Kind::BigInt);
      v->text.assign(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
      return v;
    }
    uint64_t bits = negative ? ~uint64_t{0} : 0;
    for (uint64_t i = 0; i < n && i < 8; ++i) {
      bits &= ~(uint64_t{0xff} << (8 * i));
      bits |= uint64_t{p[i]} << (8 * i);
    }
    return make_int(static_cast<int64_t>(bits));
  }

  PickleValue* make_text(Kind kind, uint64_t n) {
    if (n > size_ - pos_)
      fail(std::string(kind == Kind::String ? "string" : "bytes") + " of " + std::to_string(n) +
           " bytes runs past the end (" + std::to_string(size_ - pos_) + " left)");
    const uint8_t* p = bytes(n);
    PickleValue* v = make(kind);
    v->text.assign(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
    return v;
  }

  void count_items(size_t n) {
    container_items_ += n;
    if (container_items_ > kMaxContainerItems)
      fail("containers hold more than " + std::to_string(kMaxContainerItems) + " items");
  }

  PickleValue* make_container(Kind kind, std::vector<PickleValue*> items) {
    count_items(items.size());
    PickleValue* v = make(kind);
    v->items = std::move(items);
    return v;
  }

  void add_items(Kind kind, const char* opcode, std::vector<PickleValue*> items) {
    PickleValue* target = top();
    if (target->kind != kind)
      fail(std::string(opcode) + " on " + describe(target) + ", expected a " + kind_name(kind));
    count_items(items.size());
    target->items.insert(target->items.end(), items.begin(), items.end());
  }

  PickleValue* make_global(const std::string& module, const std::string& name) {
    const std::string global = module + "." + name;
    if (!is_allowed_global(global))
      throw Error(where_ + ": global '" + printable(global) +
                  "' is not allowed (only tensor state dicts are read)");
    PickleValue* v = make(Kind::Global);
    v->text = global;
    return v;
  }

  // --- allowlisted calls ---

  PickleValue* call(PickleValue* callable, PickleValue* args) {
    if (callable->kind != Kind::Global) fail("REDUCE of " + describe(callable) + " is not allowed");
    const Callable which = callable_of(callable->text);
    if (which == Callable::None) fail("global '" + callable->text + "' cannot be called");
    if (args->kind != Kind::Tuple)
      fail("arguments of " + callable->text + " are " + describe(args) + ", expected a tuple");
    const std::vector<PickleValue*>& a = args->items;
    switch (which) {
      case Callable::OrderedDict:
        if (!a.empty()) fail("collections.OrderedDict called with arguments");
        return make(Kind::Dict);
      case Callable::RebuildTensor:
        return rebuild_tensor(a);
      case Callable::RebuildParameter:
      case Callable::RebuildParameterWithState: {
        const size_t arity = which == Callable::RebuildParameter ? 3 : 4;
        if (a.size() != arity || a[0]->kind != Kind::Tensor)
          fail(callable->text + " expects (tensor, requires_grad, backward_hooks" +
               (arity == 4 ? ", state)" : ")"));
        return a[0];
      }
      case Callable::None:
        break;
    }
    fail("global '" + callable->text + "' cannot be called");
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[,
  // metadata])
  PickleValue* rebuild_tensor(const std::vector<PickleValue*>& a) {
    const std::string fn = "torch._utils._rebuild_tensor_v2";
    if (a.size() != 6 && a.size() != 7)
      fail(fn + " takes 6 or 7 arguments, found " + std::to_string(a.size()));
    if (a[0]->kind != Kind::Storage)
      fail(fn + " argument 1 is " + describe(a[0]) + ", expected a storage");
    if (a[1]->kind != Kind::Int || a[1]->integer < 0)
      fail(fn + " argument 2 (storage_offset) is " + describe(a[1]) + ", expected an int >= 0");
    auto record = std::make_unique<TensorRecord>();
    record->storage = a[0];
    record->storage_offset = a[1]->integer;
    record->size = int_tuple(a[2], fn + " argument 3 (size)");
    record->stride = int_tuple(a[3], fn + " argument 4 (stride)");
    if (record->size.size() != record->stride.size())
      fail(fn + " has " + std::to_string(record->size.size()) + " sizes but " +
           std::to_string(record->stride.size()) + " strides");
    if (a[4]->kind != Kind::Bool)
      fail(fn + " argument 5 (requires_grad) is " + describe(a[4]) + ", expected a bool");
    if (a[5]->kind != Kind::Dict)
      fail(fn + " argument 6 (backward_hooks) is " + describe(a[5]) + ", expected a dict");
    PickleValue* v = make(Kind::Tensor);
    v->tensor = std::move(record);
    return v;
  }

  std::vector<int64_t> int_tuple(const PickleValue* v, const std::string& what) {
    if (v->kind != Kind::Tuple) fail(what + " is " + describe(v) + ", expected a tuple of ints");
    if (v->items.size() > kMaxTensorRank)
      fail(what + " has " + std::to_string(v->items.size()) + " dimensions, at most " +
           std::to_string(kMaxTensorRank) + " are supported");
    std::vector<int64_t> out;
    for (const PickleValue* item : v->items) {
      if (item->kind != Kind::Int || item->integer < 0)
        fail(what + " holds " + describe(item) + ", expected ints >= 0");
      out.push_back(item->integer);
    }
    return out;
  }

  PickleValue* persistent_load(const PickleValue* pid) {
    if (persistent_ids_ == PersistentIds::None) fail("unexpected persistent id");
    const size_t arity = persistent_ids_ == PersistentIds::ZipStorages ? 5 : 6;
    const std::string form = arity == 5
                                 ? "('storage', storage_type, key, location, numel)"
                                 : "('storage', storage_type, key, location, numel, view_metadata)";
    const std::vector<PickleValue*>& t = pid->items;
    if (pid->kind != Kind::Tuple || t.size() != arity || !t[0]->is_string() ||
        t[0]->text != "storage")
      fail("persistent id is " + describe(pid) + ", expected " + form);
    if (t[1]->kind != Kind::Global || t[1]->text.substr(0, 6) != "torch." ||
        !scalar_type_by_storage_class(t[1]->text.substr(6)))
      fail("persistent id names storage type " + describe(t[1]) +
           ", expected a torch storage class");
    if (!t[2]->is_string() || !t[3]->is_string() || t[4]->kind != Kind::Int || t[4]->integer < 0)
      fail("persistent id is not of the form " + form);
    auto ref = std::make_unique<StorageRef>();
    ref->type = scalar_type_by_storage_class(t[1]->text.substr(6));
    ref->key = t[2]->text;
    ref->location = t[3]->text;
    ref->numel = t[4]->integer;
    if (arity == 6 && t[5]->kind != Kind::None) {
      const PickleValue* view = t[5];
      if (view->kind != Kind::Tuple || view->items.size() != 3 || !view->items[0]->is_string() ||
          view->items[1]->kind != Kind::Int || view->items[2]->kind != Kind::Int ||
          view->items[1]->integer < 0 || view->items[2]->integer < 0 ||
          view->items[1]->integer > ref->numel ||
          view->items[2]->integer > ref->numel - view->items[1]->integer)
        fail("storage '" + printable(ref->key) + "' has view metadata " + describe(view) +
             ", expected (key, offset, size) inside its " + std::to_string(ref->numel) +
             " elements");
      ref->is_view = true;
      ref->view_offset = view->items[1]->integer;
      ref->view_numel = view->items[2]->integer;
    }
    PickleValue* v = make(Kind::Storage);
    v->storage = std::move(ref);
    doc_.storages_.push_back(v);
    return v;
  }

  // --- messages ---

  static std::string printable(const std::string& s) {
    std::string out;
    for (char c : s.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return s.size() > 80 ? out + "..." : out;
  }

  static std::string describe(const PickleValue* v) {
    switch (v->kind) {
      case Kind::String:
        return "str '" + printable(v->text) + "'";
      case Kind::Int:
        return "int " + std::to_string(v->integer);
      case Kind::Global:
        return "global '" + v->text + "'";
      default:
        return kind_name(v->kind);
    }
  }

  const uint8_t* data_;
  size_t size_;
  std::string where_;
  PersistentIds persistent_ids_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  std::vector<PickleValue*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleValue*> memo_;
  size_t container_items_ = 0;
  PickleDocument doc_;
};

PickleDocument read_pickle(const uint8_t* data, size_t size, const std::string& where,
                           PersistentIds persistent_ids) {
  return PickleReader(data, size, where, persistent_ids).read();
}

}  // namespace pte
