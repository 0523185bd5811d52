#include "worker/network/data_listener.h"

#include <boost/asio.hpp>

namespace sluice {

struct DataListener::Impl {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor{io};
};

DataListener::~DataListener() = default;

Result<std::unique_ptr<DataListener>> DataListener::Bind(const HostPort& address) {
  std::unique_ptr<DataListener> listener(new DataListener());
  listener->impl_ = std::make_unique<Impl>();
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(address.host, ec);
  if (ec) return Status::InvalidArgument("data address '" + address.ToString() + "': " + ec.message());
  boost::asio::ip::tcp::endpoint endpoint(ip, address.port);
  auto& acceptor = listener->impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(boost::asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("cannot listen on data address " + address.ToString() + ": " + ec.message());
  listener->bound_ = {address.host, acceptor.local_endpoint().port()};
  return listener;
}

}  // namespace sluice
