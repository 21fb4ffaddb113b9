module github.com/dnahost/dnahost/guest-sdk

go 1.26
