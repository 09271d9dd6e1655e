// A C++ program for autodump's tests: a thread blocked in a member function
// of a class in a namespace, and one in a template, so stacks can be
// checked for demangled names (shop::Cart::checkout(int), not
// _ZN4shop4Cart8checkoutEi).
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace shop {

struct Cart {
        __attribute__((noinline)) void checkout(int items) {
                std::printf("checking out %d items\n", items);
                std::fflush(stdout);
                for (;;)
                        std::this_thread::sleep_for(std::chrono::seconds(1));
        }
};

template <typename T> __attribute__((noinline)) void restock(std::vector<T> shelf) {
        for (;;)
                std::this_thread::sleep_for(std::chrono::seconds(1 + shelf.size()));
}

}  // namespace shop

int main() {
        std::thread worker(shop::restock<double>, std::vector<double>{1.5});
        shop::Cart cart;
        cart.checkout(3);
}
