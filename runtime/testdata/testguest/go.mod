module testguest

go 1.26
