#include "worker/operators/key_encoding.h"

namespace sluice {

void EncodeKey(const RowView& row, const std::vector<size_t>& fields, const Schema& schema, std::string* out) {
  out->clear();
  for (size_t f : fields) {
    if (row.IsNull(f)) {
      out->push_back('\0');
      continue;
    }
    out->push_back('\1');
    if (schema.field(f).type == FieldType::kString) {
      std::string_view s = row.GetString(f);
      uint32_t n = static_cast<uint32_t>(s.size());
      out->append(reinterpret_cast<const char*>(&n), sizeof(n));
      out->append(s);
    } else {
      int64_t v = row.GetInt64(f);  // the slot's 8 bytes, whatever the type
      out->append(reinterpret_cast<const char*>(&v), sizeof(v));
    }
  }
}

void CopyFields(const RowView& row, const std::vector<size_t>& fields, const Schema& schema, size_t first_output,
                RowBuilder& builder) {
  for (size_t i = 0; i < fields.size(); ++i) {
    size_t f = fields[i], o = first_output + i;
    if (row.IsNull(f)) {
      builder.SetNull(o);
      continue;
    }
    switch (schema.field(f).type) {
      case FieldType::kString: builder.SetString(o, row.GetString(f)); break;
      case FieldType::kDouble: builder.SetDouble(o, row.GetDouble(f)); break;
      case FieldType::kBool: builder.SetBool(o, row.GetBool(f)); break;
      default: builder.SetInt64(o, row.GetInt64(f)); break;
    }
  }
}

}  // namespace sluice
